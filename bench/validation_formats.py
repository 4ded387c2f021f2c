"""What Great Expectations' result formats cost on a full build's suites: every source of the bundled
snapshot parsed as a full build parses it, then each suite's validation definition run on its
frames in each format, alternating rounds so every format sees the same machine.

    .venv/bin/python bench/validation_formats.py [--rounds 3]

orchestration/check/validation.py validates every load in the quick format first and runs the
checkpoint's own (detailed) format only on a failure; the figure for that choice comes from here.
Run by hand, never in the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PROJECT_ROOT, print_rows, work_root  # noqa: E402
from bench.floor import floor_settings, parse_sources  # noqa: E402

FORMATS = ("BOOLEAN_ONLY", "BASIC", "SUMMARY")


def suite_frames(work_dir: Path) -> list[tuple[str, object, dict]]:
    """(suite, frame, expectation parameters) for every dataset and reconciliation suite of the snapshot."""
    settings = floor_settings(PROJECT_ROOT / "snapshot", work_dir)
    suites = []
    for spec, frames, _ in parse_sources(settings):
        parameters = spec.expectation_parameters()
        for name, frame in {**frames, **spec.check_frames(frames)}.items():
            if len(frame):
                suites.append((name, frame, parameters))
    return suites


def seconds_in(result_format: str, suites, validation_dir: Path) -> float:
    from orchestration.check.validation import checkpoint_for

    started = time.perf_counter()
    for name, frame, parameters in suites:
        (definition,) = checkpoint_for(name, validation_dir).validation_definitions
        definition.run(batch_parameters={"dataframe": frame}, expectation_parameters=parameters or None,
                       result_format=result_format)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with work_root("kpi-bench-gx-") as root:
        suites = suite_frames(root)
        seconds_in("SUMMARY", suites, root / "validation")  # GX's import and context, outside the figures
        timings: dict[str, list[float]] = {name: [] for name in FORMATS}
        for _ in range(args.rounds):
            for result_format in FORMATS:
                timings[result_format].append(seconds_in(result_format, suites, root / "validation"))
    print(f"{len(suites)} suites of the bundled snapshot, {args.rounds} alternating round(s):")
    summary = statistics.median(timings["SUMMARY"])
    print_rows(["result format", "median s", "min s", "max s", "vs SUMMARY"],
               [[name, statistics.median(values), min(values), max(values), statistics.median(values) / summary]
                for name, values in timings.items()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
