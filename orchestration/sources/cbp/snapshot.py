"""The cbp part of the bundled snapshot: the OHSS encounters workbook and CBP's monthly CSV, copied byte for byte from
``shared/sources`` (see snapshot/PROVENANCE.md). Landing ids sort in release order."""

from __future__ import annotations

from pathlib import Path

from orchestration.fetch.snapshot import PAGE_ONLY, CopiedRelease, copy_releases  # noqa: F401
from orchestration.sources.cbp.parse import LICENCE, SOURCE

RELEASES = (
    CopiedRelease(
        'ohss-khsm-encounters-usbp-fy25m11',
        (
            ('cbp_encounters/KHSM_Encounters_USBP_fy25m11.xlsx', 'https://ohss.dhs.gov/khsm/cbp-encounters'),
        ),
        {'url_note': PAGE_ONLY, 'original_file_name': 'KHSM Encounters (USBP) fy25m11.xlsx'},
    ),
    CopiedRelease(
        'cbp-sbo-encounters-fy22-fy25-aug',
        (
            ('cbp_encounters/sbo-encounters-fy22-fy25-aug.csv', 'https://www.cbp.gov/document/stats/southwest-land-border-encounters'),
        ),
        {'url_note': PAGE_ONLY},
    ),
)


def build(shared: Path, out: Path) -> None:
    copy_releases(shared, out, SOURCE, LICENCE, RELEASES)
