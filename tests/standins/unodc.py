"""UNODC drug seizures annex: the 2018-2022 workbook of the bundled snapshot."""

from orchestration.sources import unodc
from tests.conftest import SNAPSHOT_DIR
from tests.standins.publisher import XLSX, Publisher

WORKBOOK = "7.1_Drug_seizures_2018-2022.xlsx"


def publisher() -> Publisher:
    body = next((SNAPSHOT_DIR / "unodc").glob(f"*/{WORKBOOK}")).read_bytes()
    return Publisher(
        unodc.SPEC, {f"/unodc/{WORKBOOK}": (body, XLSX)}, target=f"/unodc/{WORKBOOK}", kind="xlsx",
        env={"KPI_UNODC_ANNEX_PAGE_URL": "{base}/unodc/annex.html", "KPI_UNODC_DRUG_SEIZURES_URL": "{base}/unodc/" + WORKBOOK},
    )
