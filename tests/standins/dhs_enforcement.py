"""DHS OHSS immigration enforcement tables: the August 2024 workbook of the bundled snapshot."""

from orchestration.sources import dhs_enforcement
from tests.conftest import SNAPSHOT_DIR
from tests.standins.publisher import XLSX, Publisher

WORKBOOK = "2024_1206_ohss_immigration-enforcement-and-legal-processes-tables-august-2024.xlsx"


def publisher() -> Publisher:
    body = (SNAPSHOT_DIR / "dhs_enforcement" / "2024-08-release" / WORKBOOK).read_bytes()
    return Publisher(
        dhs_enforcement.SPEC, {f"/ohss/{WORKBOOK}": (body, XLSX)}, target=f"/ohss/{WORKBOOK}", kind="xlsx",
        env={"KPI_DHS_ENFORCEMENT_BASE_URL": "{base}", "KPI_DHS_ENFORCEMENT_WORKBOOK_URLS": "{base}/ohss/" + WORKBOOK},
    )
