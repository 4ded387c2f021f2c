"""The dhs_enforcement part of the bundled snapshot: the April and August 2024 monthly-tables workbooks, copied byte for byte from
``shared/sources`` (see snapshot/PROVENANCE.md). Landing ids sort in release order."""

from __future__ import annotations

from pathlib import Path

from orchestration.fetch.snapshot import PAGE_ONLY, CopiedRelease, copy_releases  # noqa: F401
from orchestration.sources.dhs_enforcement.parse import LICENCE, SOURCE

RELEASES = (
    CopiedRelease(
        '2024-04-release',
        (
            ('dhs_ohss_enforcement/24-0809_ohss_immigration-enforcement-and-legal-processes-tables-april-2024.xlsx', 'https://ohss.dhs.gov/topics/immigration/immigration-enforcement/immigration-enforcement-and-legal-processes-monthly'),
        ),
        {'url_note': PAGE_ONLY, 'release': 'April 2024 (posted 2024-08-09; data current as of 2024-05-31)'},
    ),
    CopiedRelease(
        '2024-08-release',
        (
            ('dhs_ohss_enforcement/2024_1206_ohss_immigration-enforcement-and-legal-processes-tables-august-2024.xlsx', 'https://ohss.dhs.gov/topics/immigration/immigration-enforcement/immigration-enforcement-and-legal-processes-monthly'),
        ),
        {'url_note': PAGE_ONLY, 'release': 'August 2024 (posted 2024-12-06; data current as of 2024-09-30)'},
    ),
)


def build(shared: Path, out: Path) -> None:
    copy_releases(shared, out, SOURCE, LICENCE, RELEASES)
