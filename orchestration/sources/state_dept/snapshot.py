"""The state_dept part of the bundled snapshot: the NIV Detail Table workbook and the Table III PDFs, copied byte for byte from
``shared/sources`` (see snapshot/PROVENANCE.md). Landing ids sort in release order."""

from __future__ import annotations

from pathlib import Path

from orchestration.fetch.snapshot import PAGE_ONLY, CopiedRelease, copy_releases  # noqa: F401
from orchestration.sources.state_dept.parse import LICENCE, SOURCE

TABLE_III_INDEX = "https://travel.state.gov/content/travel/en/legal/visa-law0/visa-statistics/annual-reports.html"
RELEASES = (
    CopiedRelease(
        'niv-detail-table-fy97-fy24',
        (
            ('state_dept_visas/FYs97-24_NIVDetailTable.xlsx', 'https://travel.state.gov/content/dam/visas/Statistics/Non-Immigrant-Statistics/NIVDetailTables/FYs97-24_NIVDetailTable.xlsx'),
        ),
        {},
    ),
    CopiedRelease(
        'visa-office-table-iii-fy00-fy23',
        tuple((f"state_dept_visas/table_iii_pdfs/FY{fy:02d}_Table_III.pdf", f"{TABLE_III_INDEX}#FY{fy:02d}_Table_III.pdf")
               for fy in range(0, 24)),
        {'url_note': PAGE_ONLY},
    ),
)


def build(shared: Path, out: Path) -> None:
    copy_releases(shared, out, SOURCE, LICENCE, RELEASES)
