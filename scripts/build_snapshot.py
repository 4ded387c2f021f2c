"""Build the bundled replay snapshot (``snapshot/``) from the publishers' files in ../shared/sources.

Run once by a maintainer when the bundle changes (``.venv/bin/python scripts/build_snapshot.py``);
its output is committed. Each source keeps its own recipe, ``orchestration/sources/<source>/snapshot.py``
(a ``build(shared, out)``: files copied byte for byte, or converted once into the pages the live
endpoint serves, values unchanged and the round trip checked; see ``orchestration/fetch/snapshot.py``);
this script runs the recipes of every discovered source. A source without a recipe (one scaffolded
from a sample by ``scripts/new_source.py``) keeps the landing it has.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestration.sources import discover  # noqa: E402


def recipes() -> dict[str, object]:
    """source name -> its snapshot recipe module, for every discovered source that has one."""
    found = {}
    for spec in discover():
        try:
            found[spec.name] = importlib.import_module(f"orchestration.sources.{spec.name}.snapshot")
        except ModuleNotFoundError as missing:
            if missing.name != f"orchestration.sources.{spec.name}.snapshot":
                raise
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parent.parent.parent / "shared" / "sources")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "snapshot")
    available = recipes()
    parser.add_argument("--source", action="append", choices=sorted(available), help="rebuild only these sources")
    args = parser.parse_args()
    for name in args.source or sorted(available):
        if (args.out / name).exists():
            shutil.rmtree(args.out / name)
        available[name].build(args.shared, args.out)
        print(f"{name}: written to {args.out / name}")
    kept = sorted({spec.name for spec in discover()} - set(available))
    if kept:
        print(f"kept as they are (no recipe): {', '.join(kept)}")


if __name__ == "__main__":
    main()
