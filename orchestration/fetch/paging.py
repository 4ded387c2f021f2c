"""Paged answers, complete by construction: one checker for every paged API a source reads.

A paged source declares a ``PagingContract`` in its SPEC (what its page header states) and turns
each landed page into a ``Page`` (the requested page number, the header's fields under their common
names, the rows); ``check_answer_complete`` then holds every answer to the same rules, whichever
publisher sent it:

* every page says it is the page that was asked for, and all pages agree on their header;
* pages 1..N are all there (N: the header's page count), none twice, and none beyond N holds rows;
* the rows add up: together they hold the header's ``total`` (when it states one), every page but
  the last ``per_page`` rows (when it states that too); an API that states no total must hold as
  many rows on every page as on page 1, the last page no more;
* a last page as full as the page size asked for is not trusted to be the last: the fetch asks for
  the next one (``wants_next_page``), and an answer whose header under-reports its pages (a page
  past N with rows) is refused;
* no page repeats another page's rows and no row appears twice.

Whether each row is for what was asked (country, indicator, year) is the source's own check, done
where it reads the row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from orchestration.core.errors import SourceFormatError


@dataclass(frozen=True)
class PagingContract:
    """What a paged API's header states: the names of its page number, page count, page size and
    total (None where the API states none), the header fields every page must agree on, and the
    page size the fetch asks for (None when the API decides it)."""

    page_field: str
    pages_field: str
    per_page_field: str | None = None
    total_field: str | None = None
    agree_fields: tuple[str, ...] = ()
    requested_page_size: int | None = None

    def wants_next_page(self, page: int, pages: int, rows_on_page: int) -> bool:
        """Whether the fetch goes on after ``page``: the header says there are more, or the page is as
        full as the size asked for (a header that under-reports its pages is caught by the next page)."""
        if page < pages:
            return True
        return self.requested_page_size is not None and rows_on_page >= self.requested_page_size


@dataclass(frozen=True)
class Page:
    """One landed page of one answer: ``number`` is the page requested (read from its URL)."""

    number: int
    header: dict[str, Any]
    rows: list
    location: str  # the URL and archived file, for messages


@dataclass
class Answer:
    """The pages of one request (the same query, every page number)."""

    key: str
    pages: dict[int, Page] = field(default_factory=dict)


def collect(answers: dict[str, Answer], key: str, page: Page, source: str) -> None:
    """Add one landed page to its answer; a page landed twice is refused."""
    answer = answers.setdefault(key, Answer(key))
    if page.number in answer.pages:
        raise SourceFormatError(source, page.location, f"page {page.number} is in the landing twice")
    answer.pages[page.number] = page


def _fingerprint(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def check_answer_complete(source: str, contract: PagingContract, answer: Answer, request_location: str,
                          row_key: Callable[[Any], str] | None = None, requested_page_size: int | None = None) -> None:
    """Refuse an answer that is not whole (see the module's rules). ``row_key`` describes a row's
    identity for the no-row-twice rule, e.g. "for HND 2025" (default: the whole row as JSON);
    ``requested_page_size`` the page size this request asked for (default: the contract's)."""
    pages = answer.pages
    first_number = min(pages)
    first = pages[first_number].header
    pages_field, per_page_field, total_field = contract.pages_field, contract.per_page_field, contract.total_field
    for number, page in sorted(pages.items()):
        stated = page.header.get(contract.page_field)
        if stated != number and first[pages_field] > 0:
            raise SourceFormatError(source, page.location, f"requested page {number} but the body is page {stated}")
        for key in (pages_field, per_page_field, total_field, *contract.agree_fields):
            if key is not None and page.header.get(key) != first.get(key):
                raise SourceFormatError(source, page.location, f"page {number} says {key} {page.header.get(key)!r}, "
                                                               f"page {first_number} said {first.get(key)!r}")
    total_pages = first[pages_field]
    missing = sorted(set(range(1, total_pages + 1)) - set(pages))
    if missing:
        raise SourceFormatError(source, request_location, f"page(s) {missing} of {total_pages} missing from a paged response")
    for number, page in sorted(pages.items()):
        if number > max(total_pages, 1) and page.rows:
            raise SourceFormatError(source, page.location,
                                    f"page {number} holds {len(page.rows)} rows, but every page's header says there are "
                                    f"{total_pages} page(s): the header under-reports the answer, which is refused")
    last = max(total_pages, 1)
    per_page = first.get(per_page_field) if per_page_field else None
    total = first.get(total_field) if total_field else None
    page_size = per_page if per_page is not None else (len(pages[1].rows) if 1 in pages and last > 1 else None)
    if total is not None and per_page is None:  # no page size stated: the total is the only count
        _check_total(source, pages, total, total_field, request_location)
    seen_pages: dict[str, int] = {}
    seen_rows: dict[str, int] = {}
    for number, page in sorted(pages.items()):  # page by page, so the first fault found is the first in the answer
        rows = page.rows
        if number <= total_pages:
            if per_page is not None and total is not None:
                expected = per_page if number < total_pages else total - per_page * (total_pages - 1)
                if len(rows) != expected:
                    raise SourceFormatError(source, page.location,
                                            f"page {number} of {total_pages} holds {len(rows)} rows, but with {per_page_field} "
                                            f"{per_page} and {total_field} {total} it should hold {expected}")
            elif total is None and page_size is not None and (len(rows) != page_size if number < total_pages else len(rows) > page_size):
                raise SourceFormatError(source, page.location,
                                        f"page {number} of {total_pages} holds {len(rows)} rows, but page 1 held {page_size}: "
                                        "pages of one answer hold the same number of rows, the last one at most that")
        if not rows:
            continue
        page_print = _fingerprint(rows)
        if page_print in seen_pages:
            raise SourceFormatError(source, page.location, f"page {number} repeats the rows of page {seen_pages[page_print]}")
        seen_pages[page_print] = number
        for row in rows:
            row_print = row_key(row) if row_key else _fingerprint(row)[:200]
            if row_print in seen_rows:
                other = seen_rows[row_print]
                raise SourceFormatError(source, page.location,
                                        f"page {number}: the row {row_print} is also on page {other}" if other != number
                                        else f"page {number}: the row {row_print} appears twice")
            seen_rows[row_print] = number
    if total is not None:
        _check_total(source, pages, total, total_field, request_location)
    size = requested_page_size if requested_page_size is not None else contract.requested_page_size
    if size is not None and total_pages >= 1 and last in pages and len(pages[last].rows) >= size and last + 1 not in pages:
        raise SourceFormatError(source, pages[last].location,
                                f"the last page ({last}) is full ({len(pages[last].rows)} rows of {size} asked for) and the "
                                "next page was not fetched: the answer may hold more than its header says")


def _check_total(source: str, pages: dict[int, Page], total: int, total_field: str, request_location: str) -> None:
    received = sum(len(page.rows) for page in pages.values())
    if received != total:
        raise SourceFormatError(source, request_location,
                                f"pages hold {received} rows but the header's {total_field} is {total}; pagination slipped?")
