"""The foreign_assistance part of the bundled snapshot: the Country Summary CSV releases and the API-by-sector extract, copied byte for byte from
``shared/sources`` (see snapshot/PROVENANCE.md). Landing ids sort in release order."""

from __future__ import annotations

from pathlib import Path

from orchestration.fetch.snapshot import PAGE_ONLY, CopiedRelease, copy_releases  # noqa: F401
from orchestration.sources.foreign_assistance.parse import LICENCE, SOURCE

RELEASES = (
    CopiedRelease(
        '1-country-summary-release-2025-04',
        (
            ('us_foreign_assistance/us_foreign_aid_country.csv', 'https://s3.amazonaws.com/files.explorer.devtechlab.com/us_foreign_aid_country.csv'),
        ),
        {'release': '2025-04 or earlier (copy committed 2025-04-02)'},
    ),
    CopiedRelease(
        '2-country-summary-release-2025-11',
        (
            ('us_foreign_assistance/us_foreign_aid_country_2025vintage_HN_GT_SV_NI_MX.csv', 'https://s3.amazonaws.com/files.explorer.devtechlab.com/us_foreign_aid_country.csv'),
        ),
        {'release': '2025-11 or earlier (copy committed 2025-11-29)', 'extract': 'rows of HND, GTM, SLV, NIC, MEX'},
    ),
    CopiedRelease(
        '3-api-by-usg-sector-2026-09-30',
        (
            ('us_foreign_assistance/fa_api_by_usg_sector_HND_GTM_FY2001-FY2026.csv', 'https://foreignassistance.gov/api/data-api/by-usg-sector.json'),
            ('us_foreign_assistance/fa_api_usg_sector_taxonomy.csv', 'https://foreignassistance.gov/api/data-api/by-usg-sector.json'),
        ),
        {'release': "2026-09-30 (site's data last updated), fetched 2026-10-02T05:32:08Z", 'extract': 'HND and GTM rows, transcribed to CSV; see PROVENANCE.md'},
    ),
)


def build(shared: Path, out: Path) -> None:
    copy_releases(shared, out, SOURCE, LICENCE, RELEASES)
