"""The KPI report (static HTML scorecard) written into the serving directory after each publication."""

import dagster as dg

from orchestration.assets.publish import published_marts
from orchestration.report import REPORT_FILE, write_report
from orchestration.settings import Settings


@dg.asset(
    key=dg.AssetKey(["serving", "kpi_report"]),
    deps=[published_marts],
    group_name="serving",
    kinds={"html"},
    description="A static HTML scorecard (inline SVG charts, renders offline) of the current publication: per KPI, "
                "Honduras against the comparators over the years, latest value, change from baseline and direction. "
                f"Written to KPI_SERVING_DIR/{REPORT_FILE} and into the publication's release directory.",
)
def kpi_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = Settings.from_env()
    written = write_report(settings.serving_dir)
    context.log.info(f"KPI report of publication {written['publication_id']}: {written['path']}")
    return dg.MaterializeResult(metadata={
        "publication_id": written["publication_id"],
        "charts": written["charts"],
        "report": dg.MetadataValue.path(written["path"]),
    })
