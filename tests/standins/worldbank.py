"""World Bank indicators API: Honduras' indicator pages of the bundled snapshot."""

from orchestration.sources import worldbank
from tests.standins.publisher import Publisher, snapshot_landing


def publisher() -> Publisher:
    hnd = snapshot_landing("worldbank", "2026-04-08__wdi-bulk__API_HND")
    files = {f"/v2/country/HND/indicator/{f.file.split('__')[0]}": (f.read_bytes(), "application/json;charset=utf-8")
             for f in hnd.files}
    return Publisher(
        worldbank.SPEC, files, target="/v2/country/HND/indicator/SE.PRM.CMPT.ZS", kind="json",
        env={"KPI_COUNTRIES": "HND", "KPI_WORLDBANK_BASE_URL": "{base}/v2"},
    )
