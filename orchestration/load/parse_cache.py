"""Parse once per release: a source's parsed frames, kept under the data directory by what made them.

Parsing is most of a load's time on the bundled snapshot (the State Department's 24 PDFs alone take
seconds), and a full build, a backfill or a retry over landings that did not change would parse the
same bytes again. As owid's ETL skips a step whose inputs' checksums did not change, a source's frames
are kept under ``<data dir>/parsed/<source>/<key>.pickle``, where the key is the sha256 of:

- each landing's fetch id, archived path and sha256 (the frames carry the fetch id and file path);
- the parser's version: the code of the source's package, of the module its parse function lives in,
  and of the shared modules parsers read cells with (``orchestration/fetch``, ``orchestration/core``),
  with pandas' version;
- the reference lists parsers map publishers' labels with: the dbt seeds (country names and aliases,
  which users edit when a publisher spells a country anew);
- the settings a parser reads (countries, years, where landings are archived).

An entry is written to a temporary file and renamed into place, so concurrent writers of one key
each leave a whole entry and a reader never sees half of one; an entry that cannot be read back is
removed and the landings parsed again. The entries are pickles the pipeline itself wrote under its
own data directory (never anything a publisher sent), so reading them back trusts no outside input.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import pickle
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Callable

import pandas as pd

from orchestration.core.settings import PROJECT_ROOT, Settings
from orchestration.fetch.archive import Landing
from orchestration.sources.contract import SourceSpec

# bump when the entry's layout changes (not when a parser does: its code hash says that)
CACHE_FORMAT = 1
# entries kept per source: the newest few (a new release, a changed parser) and never more
KEPT_ENTRIES_PER_SOURCE = 3
SHARED_PARSER_CODE = (PROJECT_ROOT / "orchestration" / "fetch", PROJECT_ROOT / "orchestration" / "core")
REFERENCE_DATA_DIR = PROJECT_ROOT / "dbt_project" / "seeds"

log = logging.getLogger(__name__)


def parse_cache_dir(settings: Settings) -> Path:
    """``<data dir>/parsed``: beside the landing archive the frames are parsed from."""
    return settings.landing_dir.parent / "parsed"


@lru_cache(maxsize=None)
def parser_version(parse: Callable, package: str) -> str:
    """The sha256 of the code that parses: the parse function's name and module (a replacement parser
    is its own version), the source package's files, the shared modules parsers use and the seeds
    they map labels with."""
    digest = hashlib.sha256(f"pandas {pd.__version__} {parse.__module__}.{parse.__qualname__}".encode())
    package_dir = PROJECT_ROOT / "orchestration" / "sources" / package
    files = {*package_dir.rglob("*.py"), *(path for shared in SHARED_PARSER_CODE for path in shared.rglob("*.py")),
             *REFERENCE_DATA_DIR.rglob("*.csv")}
    source_file = inspect.getsourcefile(parse)
    if source_file is not None:
        files.add(Path(source_file))
    for path in sorted(files):
        digest.update(str(path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(spec: SourceSpec, landings: list[Landing], settings: Settings) -> str:
    described = {
        "format": CACHE_FORMAT,
        "parser": parser_version(spec.parse, spec.name),
        "landings": [[landing.fetch_id, str(landing.path), landing.sha256] for landing in landings],
        "countries": list(settings.countries),
        "years": [settings.first_year, settings.last_year],
        "archives": [str(settings.landing_dir), str(settings.snapshot_dir)],
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def cache_entry(spec: SourceSpec, landings: list[Landing], settings: Settings) -> Path:
    return parse_cache_dir(settings) / spec.name / f"{cache_key(spec, landings, settings)}.pickle"


def cached_frames_exist(spec: SourceSpec, landings: list[Landing], settings: Settings) -> bool:
    return cache_entry(spec, landings, settings).is_file()


def parse_with_cache(spec: SourceSpec, landings: list[Landing], settings: Settings,
                     report: Callable[[str], None] = print) -> dict[str, pd.DataFrame]:
    """``spec.parse(landings, settings)``, or the frames it returned before for the same key."""
    entry = cache_entry(spec, landings, settings)
    frames = _read(entry, report)
    if frames is not None:
        report(f"{spec.name}: parsed frames of these landings reused ({entry.name[:12]}: same files, same parser)")
        return frames
    frames = spec.parse(landings, settings)
    _write(entry, frames)
    return frames


def _read(entry: Path, report: Callable[[str], None]) -> dict[str, pd.DataFrame] | None:
    try:
        with entry.open("rb") as file:
            frames = pickle.load(file)
    except FileNotFoundError:
        return None
    except Exception as error:  # a truncated or foreign file: parse again, and replace it
        report(f"parsed-frames entry {entry} unreadable ({type(error).__name__}): parsing again")
        entry.unlink(missing_ok=True)
        return None
    if not (isinstance(frames, dict) and all(isinstance(frame, pd.DataFrame) for frame in frames.values())):
        report(f"parsed-frames entry {entry} holds no frames: parsing again")
        entry.unlink(missing_ok=True)
        return None
    return frames


def _write(entry: Path, frames: dict[str, pd.DataFrame]) -> None:
    """Write ``entry`` whole or not at all (a temporary file renamed into place), then keep only the
    source's newest entries. A cache that cannot be written costs the next run a parse, never this one."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=entry.parent, prefix=f".{entry.stem[:12]}.", suffix=".partial")
        try:
            with os.fdopen(handle, "wb") as file:
                pickle.dump(frames, file, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(partial, entry)
        finally:
            Path(partial).unlink(missing_ok=True)
        older = sorted(entry.parent.glob("*.pickle"), key=lambda path: path.stat().st_mtime, reverse=True)
        for path in older[KEPT_ENTRIES_PER_SOURCE:]:
            path.unlink(missing_ok=True)
    except OSError as error:
        log.warning("parsed frames not kept at %s: %s", entry, error)
