"""UNODC live fetch: the drug-seizures table (7.1) of the World Drug Report statistical annex,
linked from the annex page (archived beside it), or given by URL."""

from __future__ import annotations

import re

from orchestration.core.errors import SourceFormatError
from orchestration.sources.unodc.parse import SOURCE
from orchestration.fetch.web import archive_name, linked_files
from orchestration.fetch.http import LiveFetcher

SEIZURES_LINK = re.compile(r"^7\.1[_ ]Drug[_ ]seizures.*\.xlsx$", re.IGNORECASE)


def fetch(fetcher: LiveFetcher, annex_page_url: str, workbook_url: str | None = None) -> dict:
    if workbook_url:
        fetcher.for_base_url(workbook_url).get(workbook_url, archive_name(workbook_url), kind="xlsx")
        return {"workbook_url": workbook_url}
    page = fetcher.get_text(annex_page_url, "wdr_annex.html")
    links = linked_files(page, annex_page_url, SEIZURES_LINK)
    if len(links) != 1:
        raise SourceFormatError(SOURCE, annex_page_url, f"the annex page links {len(links)} '7.1_Drug_seizures...xlsx' files "
                                                        f"({links}); set KPI_UNODC_DRUG_SEIZURES_URL to the one to load")
    fetcher.for_base_url(links[0]).get(links[0], archive_name(links[0]), kind="xlsx")
    return {"workbook_url": links[0], "annex_page": annex_page_url}
