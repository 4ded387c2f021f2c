"""The unodc part of the bundled snapshot: the World Drug Report 2024 annex table 7.1 workbook, copied byte for byte from
``shared/sources`` (see snapshot/PROVENANCE.md). Landing ids sort in release order."""

from __future__ import annotations

from pathlib import Path

from orchestration.fetch.snapshot import PAGE_ONLY, CopiedRelease, copy_releases  # noqa: F401
from orchestration.sources.unodc.parse import LICENCE, SOURCE

RELEASES = (
    CopiedRelease(
        'wdr-2024-annex-7.1-drug-seizures-2018-2022',
        (
            ('unodc/drug_seizures_2018_2022.xlsx', 'https://www.unodc.org/documents/data-and-analysis/WDR_2024/Annex/7.1_Drug_seizures_2018-2022.xlsx', '7.1_Drug_seizures_2018-2022.xlsx'),
        ),
        {'url_note': "exact download URL not recorded by the copy's origin: url follows the publisher's documented pattern", 'release': 'World Drug Report 2024, statistical annex table 7.1'},
    ),
)


def build(shared: Path, out: Path) -> None:
    copy_releases(shared, out, SOURCE, LICENCE, RELEASES)
