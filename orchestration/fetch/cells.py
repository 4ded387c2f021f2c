"""Where a parsed value sits in its archived file, in the forms ``marts.kpi_lineage`` publishes.

A parser adds four columns at the end of its raw rows (``LINEAGE_COLUMNS``): the archived file
(its path relative to the landing archive or the bundled snapshot, and its sha256) and the value's
place in it with the text printed there. A reader can then open the file at that place with any
tool and find the number, without the warehouse:

* ``sheet=<sheet name>;cell=<A1>`` for workbooks;
* ``line=<n>;column=<header>`` for CSV (1-based line of the file);
* ``pointer=<RFC 6901 JSON pointer>`` for JSON (e.g. ``/1/37/value``);
* ``page=<n>`` for PDFs (the row's label in ``original_text``).
"""

from __future__ import annotations

import json

from orchestration.fetch.archive import LandedFile

LINEAGE_COLUMNS = ["source_file", "file_sha256", "source_location", "original_text"]


def archived_path(landed: LandedFile) -> str:
    """``<source>/<fetch_id>/<file>``: the file's path under the landing archive (or the snapshot,
    which has the same layout), the same in replay and live mode."""
    return f"{landed.source}/{landed.landing_dir.name}/{landed.file}"


def file_columns(landed: LandedFile) -> dict[str, str]:
    return {"source_file": archived_path(landed), "file_sha256": landed.sha256}


def column_letter(index: int) -> str:
    """0 -> ``A``, 25 -> ``Z``, 26 -> ``AA``: a worksheet column from its 0-based index."""
    if index < 0:
        raise ValueError(f"column index {index} is negative")
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def workbook_cell(sheet_name: str, row_index: int, column_index: int) -> str:
    """The location of the cell at 0-based (row, column) of a sheet read from A1 (pandas with
    ``header=None``): ``sheet=<name>;cell=<A1>``."""
    return f"sheet={sheet_name};cell={column_letter(column_index)}{row_index + 1}"


def json_pointer(*tokens: str | int) -> str:
    """``pointer=/1/37/value``: an RFC 6901 pointer, ``~`` and ``/`` escaped in each token."""
    escaped = (str(token).replace("~", "~0").replace("/", "~1") for token in tokens)
    return "pointer=/" + "/".join(escaped)


def printed_text(value) -> str:
    """A parsed cell or JSON value as text: numbers without a spurious ``.0`` (``40760.0`` -> ``40760``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return " ".join(str(value).split())
