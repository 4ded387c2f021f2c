"""State Department: the NIV detail workbook and one Table III PDF of the bundled snapshot."""

from orchestration.sources import state_dept
from tests.standins.publisher import XLSX, Publisher, snapshot_file, snapshot_landing


def publisher() -> Publisher:
    niv = snapshot_landing("state_dept", "niv-")
    table_iii = snapshot_landing("state_dept", "visa-office-")
    return Publisher(
        state_dept.SPEC,
        {"/sd/FYs97-24_NIVDetailTable.xlsx": (snapshot_file(niv, "FYs97-24"), XLSX),
         "/sd/FY23_Table_III.pdf": (snapshot_file(table_iii, "FY23_"), "application/pdf")},
        target="/sd/FYs97-24_NIVDetailTable.xlsx", kind="xlsx",
        env={"KPI_STATE_DEPT_BASE_URL": "{base}",
             state_dept.NIV_WORKBOOK_URL_ENV: "{base}/sd/FYs97-24_NIVDetailTable.xlsx",
             state_dept.TABLE_III_URLS_ENV: "{base}/sd/FY23_Table_III.pdf"},
    )
