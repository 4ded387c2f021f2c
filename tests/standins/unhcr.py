"""UNHCR population API: Honduras only, one page per endpoint, from the bundled snapshot."""

from orchestration.sources import unhcr
from tests.conftest import SNAPSHOT_DIR
from tests.standins.publisher import Publisher


def publisher() -> Publisher:
    landing = next((SNAPSHOT_DIR / "unhcr").iterdir())
    files = {f"/population/v1/{endpoint}/": ((landing / unhcr.page_file_name(endpoint, "HND", 1)).read_bytes(), "application/json")
             for endpoint in unhcr.ENDPOINT_ORDER}
    return Publisher(
        unhcr.SPEC, files, target="/population/v1/population/", kind="json",
        env={"KPI_COUNTRIES": "HND", "KPI_UNHCR_BASE_URL": "{base}/population/v1"},
    )
