"""The mutation proofs of docs/reliability.md stay runnable, and the cheap ones are caught on every `make test`
(the whole set, tens of minutes, runs by hand: `python -m tests.mutations`)."""

from __future__ import annotations

import pytest

from tests import mutations


@pytest.mark.parametrize("mutation", mutations.MUTATIONS, ids=lambda mutation: mutation.name)
def test_every_mutation_still_finds_the_code_it_breaks(mutation):
    # after a refactoring moves the code, a mutation that no longer applies must be updated, not skipped
    text = (mutations.PROJECT_ROOT / mutation.file).read_text()
    assert text.count(mutation.original) == 1, f"{mutation.name}: update its text in tests/mutations.py"
    for test in mutation.test.split():
        assert (mutations.PROJECT_ROOT / test.split("::")[0]).is_file(), test


def test_the_cheap_mutations_are_caught_by_their_tests():
    outcomes = mutations.run(cheap=True)
    assert len(outcomes) >= 2
    assert [(outcome.mutation.name, outcome.detail) for outcome in outcomes if not outcome.caught] == []
