"""A source load's rows for its years (orchestration/load/step.py)."""

import pandas as pd

from orchestration.load.step import in_years


def test_a_load_keeps_the_rows_of_its_years_without_copying_a_whole_release():
    frame = pd.DataFrame({"year": [1999, 2005, 2026], "value": [1.0, 2.0, 3.0]})
    assert in_years(frame, "year", (1999, 2026)) is frame  # every row inside: the parsed frame itself
    kept = in_years(frame, "year", (2000, 2026))
    assert kept["year"].tolist() == [2005, 2026] and kept.index.tolist() == [0, 1]
    shuffled = frame.iloc[[2, 0, 1]]  # not a 0..n-1 index: renumbered, as before
    assert in_years(shuffled, "year", (1999, 2026)).index.tolist() == [0, 1, 2]
    assert in_years(frame, None, (2000, 2001)) is frame
