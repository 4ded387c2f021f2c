"""Small helpers for sources whose live files are linked from a publisher's web page."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit


class _LinkCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href and href.strip():
                self.hrefs.append(href.strip())


def page_links(page_html: str) -> list[str]:
    """Every link (``<a href>``) on a page, as written, in page order."""
    collector = _LinkCollector()
    collector.feed(page_html)
    return collector.hrefs


def linked_files(page_html: str, page_url: str, pattern: re.Pattern) -> list[str]:
    """Absolute URLs of the links on a page whose decoded file name matches ``pattern``, in page order,
    each once."""
    found: list[str] = []
    for href in page_links(page_html):
        url = urljoin(page_url, href)
        if pattern.search(file_name_of(url)) and url not in found:
            found.append(url)
    return found


def file_name_of(url: str) -> str:
    """The decoded last path segment of a URL: ``.../a%20b.xlsx`` -> ``a b.xlsx``."""
    return unquote(PurePosixPath(urlsplit(url).path).name)


def archive_name(url: str) -> str:
    """The name a linked file is archived under: its own name with anything but letters, digits,
    dots and dashes made ``_`` (``7.1_Drug seizures (2024).xlsx`` -> ``7.1_Drug_seizures_2024_.xlsx``)."""
    stem, dot, suffix = file_name_of(url).rpartition(".")
    cleaned = re.sub(r"[^A-Za-z0-9.-]+", "_", stem or suffix)
    return f"{cleaned}.{suffix.lower()}" if dot else cleaned
