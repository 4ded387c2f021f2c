"""Great Expectations on every dataset of the bundled snapshot, timed: what validating a whole build's
loads costs (issue 23: the file data context is loaded once per process, no longer rebuilt per call).

Every source's ``SPEC.parse`` and ``check_frames`` run first, untimed; then each frame is validated
by ``orchestration.check.validation.validate_frame`` as a load does, twice (the first pass pays for
loading the context and suites, the second is what each further load in the process pays). GX is
imported before timing starts (about 2.7 s either way). Results go to a temporary directory.

Run by hand (any checkout whose ``validate_frame`` takes ``(dataset, frame)``: compare two with
``PYTHONPATH``):

    .venv/bin/python -m bench.validation
"""

from __future__ import annotations

import inspect
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bench` and `orchestration` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    import great_expectations  # noqa: F401  (imported before timing: its cost is not what changed)

    from orchestration.check import validation
    from orchestration.config import load_settings
    from orchestration.fetch.archive import list_landings
    from orchestration.sources import discover

    settings = load_settings({})
    frames, parameters = {}, {}
    for spec in discover():
        parameters.update(spec.expectation_parameters())
        parsed = spec.parse(list_landings(settings.snapshot_dir, spec.name), settings)
        frames.update({dataset.name: parsed[dataset.name] for dataset in spec.datasets})
        frames.update(spec.check_frames({dataset.name: parsed[dataset.name] for dataset in spec.datasets}))
    frames = {name: frame for name, frame in frames.items() if len(frame)}
    stores_results = "validation_dir" in inspect.signature(validation.validate_frame).parameters
    with tempfile.TemporaryDirectory() as results:
        extra = {"validation_dir": Path(results), "parameters": parameters} if stores_results else {}
        for attempt in ("first pass", "second pass"):
            started = time.perf_counter()
            reports = [validation.validate_frame(name, frame, **extra) for name, frame in frames.items()]
            seconds = time.perf_counter() - started
            failed = [report.dataset for report in reports if not report.success]
            print(f"{attempt}: {len(reports)} frames, {sum(len(f) for f in frames.values())} rows, "
                  f"{seconds:.2f} s{' (failed: ' + ', '.join(failed) + ')' if failed else ''}")
        if stores_results:
            started = time.perf_counter()
            validation.build_data_docs(reports, Path(results))
            print(f"Data Docs of the second pass: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
