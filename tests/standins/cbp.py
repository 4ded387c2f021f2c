"""CBP: the OHSS Border Patrol workbook and CBP's Southwest-border CSV of the bundled snapshot."""

from orchestration.sources import cbp
from tests.standins.publisher import XLSX, Publisher, snapshot_file, snapshot_landing


def publisher() -> Publisher:
    ohss = snapshot_landing("cbp", "ohss-")
    sbo = snapshot_landing("cbp", "cbp-sbo-")
    return Publisher(
        cbp.SPEC,
        {"/ohss/KHSM_Encounters_USBP_fy25m11.xlsx": (snapshot_file(ohss, "KHSM"), XLSX),
         "/cbp/sbo-encounters-fy22-fy25-aug.csv": (snapshot_file(sbo, "sbo-"), "text/csv")},
        target="/cbp/sbo-encounters-fy22-fy25-aug.csv", kind="csv",
        env={"KPI_CBP_BASE_URL": "{base}", cbp.OHSS_BASE_URL_ENV: "{base}",
             cbp.OHSS_WORKBOOK_URL_ENV: "{base}/ohss/KHSM_Encounters_USBP_fy25m11.xlsx",
             cbp.CBP_CSV_URL_ENV: "{base}/cbp/sbo-encounters-fy22-fy25-aug.csv"},
    )
