"""The location forms of marts.kpi_lineage (orchestration/fetch/cells.py), checked against
openpyxl's own column letters and an RFC 6901 reading of the pointers."""

from __future__ import annotations

import json

import pytest
from openpyxl.utils import get_column_letter

from orchestration.fetch.archive import list_landings
from orchestration.fetch.cells import archived_path, column_letter, json_pointer, printed_text, workbook_cell
from orchestration.core.settings import PROJECT_ROOT


@pytest.mark.parametrize("index", [0, 1, 24, 25, 26, 27, 51, 52, 701, 702, 16383])
def test_column_letters_are_the_spreadsheet_s(index):
    assert column_letter(index) == get_column_letter(index + 1)


def test_a_cell_read_from_a1_is_named_as_the_workbook_names_it():
    assert workbook_cell("DHS Removals by Citizenship", 68, 5) == "sheet=DHS Removals by Citizenship;cell=F69"


def test_json_pointers_escape_tilde_and_slash():
    assert json_pointer(1, 37, "value") == "pointer=/1/37/value"
    document = {"a/b": {"m~n": [10, 20]}}
    pointer = json_pointer("a/b", "m~n", 1).removeprefix("pointer=")
    assert pointer == "/a~1b/m~0n/1"
    node = document
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    assert node == 20


def test_printed_text_keeps_numbers_as_written():
    assert printed_text(40760.0) == "40760"
    assert printed_text(40760) == "40760"
    assert printed_text(5.698) == "5.698"
    assert printed_text(json.loads("0.1")) == "0.1"
    assert printed_text("  2024  YTD ") == "2024 YTD"


def test_archived_paths_are_relative_to_the_archive_root():
    [landing, *_] = list_landings(PROJECT_ROOT / "snapshot", "unodc")
    landed = landing.files[0]
    assert archived_path(landed) == f"unodc/{landing.fetch_id}/{landed.file}"
    assert (PROJECT_ROOT / "snapshot" / archived_path(landed)).is_file()
