"""dbt invoked in-process through dbt's programmatic API, with dagster-dbt's translation of its events.

dagster-dbt's ``DbtCliResource`` starts a ``dbt`` process for every step, and on this 2-core
machine each one cost about 15 s before the first model ran: ``dbt --version`` (5 s), an adapter
handle in the parent (5 s), the child's interpreter and imports, and a full re-parse (the
profile's warehouse path is part of dbt's partial-parse hash). Here the project is parsed once per
process and profile, and every ``dbt build`` reuses that parsed manifest, so a step costs only
its models and tests. Events are converted by dagster-dbt itself (``DbtCoreCliEventMessage``), so
models materialize and tests report as asset checks exactly as with the CLI resource.
"""

from __future__ import annotations

import hashlib
import os
import threading
from contextlib import contextmanager
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.core.settings import DBT_PROJECT_DIR
from orchestration.transform.dbt_internals import (
    asset_utils, close_duckdb_environment, duckdb_path_not_in_profile_hash, event_message, manifest_and_translator,
)

# dbt's structured events that carry a node's result; the only ones Dagster needs
RESULT_EVENT_NAMES = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})
_PROFILE_ENV = ("KPI_WAREHOUSE_PATH", "KPI_DBT_TARGET", "KPI_PG_HOST", "KPI_PG_PORT", "KPI_PG_USER",
                "KPI_PG_DATABASE")
_parsed_manifests: dict[tuple, Any] = {}
_parsed_manifest_json: dict[tuple, bytes] = {}
PARTIAL_PARSE_FILE = "partial_parse.msgpack"


class DbtBuildError(dg.Failure):
    """A dbt build that failed: a model error, or a test of severity error."""


def project_args(project_dir: Path, target_path: Path, profiles: Path | None = None) -> list[str]:
    return ["--project-dir", str(project_dir), "--profiles-dir", str(profiles or project_dir),
            "--target-path", str(target_path), "--log-path", str(target_path)]


def invocation_args(command: Sequence[str], selection: Sequence[str], indirect_selection: str | None,
                    project_dir: Path, target_path: Path, profiles: Path | None = None) -> list[str]:
    """The argv of one in-process dbt invocation (pure, so it is unit-tested)."""
    args = [*command, *selection]
    if indirect_selection:
        args += ["--indirect-selection", indirect_selection]
    return args + project_args(project_dir, target_path, profiles)


def _profile_key(project_dir: Path, profile: Mapping[str, str] | None = None) -> tuple:
    """The profile's values a parse depends on (never the password). ``profile`` None: dbt reads them from
    the process environment itself, as a dbt command run by hand does."""
    values = os.environ if profile is None else profile
    return (str(project_dir), *(values.get(name, "") for name in _PROFILE_ENV))


def _parse_state_key(project_dir: Path, profile: Mapping[str, str] | None = None) -> tuple:
    """What a parse depends on: the profile without the warehouse's directory (its file name stays:
    DuckDB names the database after it, and the compiled SQL uses that name)."""
    values = dict(zip(_PROFILE_ENV, _profile_key(project_dir, profile)[1:]))
    warehouse = Path(values.pop("KPI_WAREHOUSE_PATH"))
    return (str(project_dir), warehouse.name, *values.values())


def render_profiles(project_dir: Path, profile: Mapping[str, str]) -> str:
    """The project's profiles.yml with every ``env_var('NAME', default)`` replaced by ``profile``'s value
    (or the default): the same profile dbt would render from an environment holding ``profile``, without
    one. A value is written as text dbt renders to itself (a ``{`` in a password stays a ``{``)."""
    import jinja2
    import jinja2.nativetypes
    import yaml

    def env_var(name: str, default: str | None = None) -> str:
        if name in profile:
            return profile[name]
        if default is None:
            raise DbtBuildError(f"dbt's profiles.yml needs {name}, which the warehouse's settings do not give")
        return default

    def render(value):
        if isinstance(value, dict):
            return {key: render(item) for key, item in value.items()}
        if not isinstance(value, str) or "{{" not in value:
            return value
        native = "as_number" in value  # dbt's filter: the value becomes a number
        environment = jinja2.nativetypes.NativeEnvironment() if native else jinja2.Environment()
        environment.filters["as_number"] = lambda text: int(text) if str(text).isdigit() else float(text)
        rendered = environment.from_string(value).render(env_var=env_var)
        if isinstance(rendered, str) and ("{" in rendered or "%" in rendered):
            rendered = "{% raw %}" + rendered + "{% endraw %}"  # dbt renders the file again: keep it literal
        return rendered

    return yaml.safe_dump(render(yaml.safe_load((project_dir / "profiles.yml").read_text())), sort_keys=False)


PROFILE_DIR_PREFIX = "kpi-dbt-profile-"


def remove_orphaned_profiles(temp_dir: Path) -> list[Path]:
    """Remove the profile directories of processes that are gone (a run killed during dbt cannot remove
    its own): a password left on disk by a crash stays there until the next dbt invocation at most."""
    import shutil

    removed = []
    for directory in temp_dir.glob(f"{PROFILE_DIR_PREFIX}*-*"):
        pid = directory.name.removeprefix(PROFILE_DIR_PREFIX).split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
        except PermissionError:  # another user's live process
            pass
    return removed


@contextmanager
def profiles_dir(project_dir: Path, profile: Mapping[str, str] | None) -> Iterator[Path]:
    """Where dbt reads its profile for one invocation. ``profile`` None: the project's own profiles.yml,
    rendered by dbt from the process environment. Otherwise a private directory (mode 0700, the file
    0600) holding the profile rendered from ``profile``, removed when the invocation ends: the values,
    the PostgreSQL password among them, reach dbt without ever entering ``os.environ``, where every
    process this one starts would inherit them."""
    import tempfile

    if profile is None:
        yield project_dir
        return
    remove_orphaned_profiles(Path(tempfile.gettempdir()))
    with tempfile.TemporaryDirectory(prefix=f"{PROFILE_DIR_PREFIX}{os.getpid()}-") as directory:
        descriptor = os.open(Path(directory) / "profiles.yml", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(render_profiles(project_dir, profile))
        yield Path(directory)


def parsed_manifest(project_dir: Path = DBT_PROJECT_DIR, profile: Mapping[str, str] | None = None):
    """The project parsed by dbt, once per process and profile (dbt's partial parse makes it quick).
    ``profile``: the profile's values (``Settings.dbt_env()``), see ``profiles_dir``.

    dbt keeps its partial-parse state in the target path; one state per profile (without the
    warehouse's directory, see ``dbt_internals.duckdb_path_not_in_profile_hash``) lives in ``target/parse-*``.
    Each parse works on a private copy and puts the state back by one rename, so processes parsing
    at once (test workers) never read a half-written state. The parse's manifest.json (written in the
    private copy: target/manifest.json stays the one the definitions were built from) is kept in
    memory for ``parsed_manifest_json``."""
    import shutil

    from dbt.cli.main import dbtRunner

    key = _profile_key(project_dir, profile)
    if key not in _parsed_manifests:
        state_digest = hashlib.sha256(repr(_parse_state_key(project_dir, profile)).encode()).hexdigest()[:12]
        shared_state = project_dir / "target" / f"parse-{state_digest}" / PARTIAL_PARSE_FILE
        private = project_dir / "target" / f".parse-{state_digest}-{os.getpid()}-{threading.get_ident()}"
        shutil.rmtree(private, ignore_errors=True)
        private.mkdir(parents=True)
        if shared_state.is_file():
            shutil.copyfile(shared_state, private / PARTIAL_PARSE_FILE)
        try:
            with duckdb_path_not_in_profile_hash(), profiles_dir(project_dir, profile) as profiles:
                result = dbtRunner().invoke(["parse", "--quiet", *project_args(project_dir, private, profiles)])
            if result.success:
                _parsed_manifest_json[key] = (private / "manifest.json").read_bytes()
            if result.success and (private / PARTIAL_PARSE_FILE).is_file():
                shared_state.parent.mkdir(parents=True, exist_ok=True)
                os.replace(private / PARTIAL_PARSE_FILE, shared_state)
        finally:
            release_warehouse()
            shutil.rmtree(private, ignore_errors=True)
        if not result.success:
            raise DbtBuildError(f"dbt parse of {project_dir} failed: {result.exception}")
        _parsed_manifests[key] = result.result
        _prune_oldest(project_dir / "target", "parse-*", keep=8)
    return _parsed_manifests[key]


def parsed_manifest_json(project_dir: Path = DBT_PROJECT_DIR, profile: Mapping[str, str] | None = None) -> bytes:
    """The manifest.json of ``parsed_manifest``'s parse: the state a later ``--state`` compares with."""
    parsed_manifest(project_dir, profile)
    return _parsed_manifest_json[_profile_key(project_dir, profile)]


def list_nodes(selection: Sequence[str], resource_types: Sequence[str] = ("model",),
               project_dir: Path = DBT_PROJECT_DIR, profile: Mapping[str, str] | None = None) -> list[str]:
    """The unique ids ``dbt ls`` selects (dbt's own selection syntax), on the project parsed once per
    process: no re-parse, about a second."""
    import json
    import tempfile

    from dbt.cli.main import dbtRunner

    with tempfile.TemporaryDirectory(prefix="dbt-ls-") as target, profiles_dir(project_dir, profile) as profiles:
        result = dbtRunner(manifest=parsed_manifest(project_dir, profile)).invoke(
            ["--log-level", "none", "ls", "--no-write-json", *selection, "--resource-type", *resource_types,
             "--output", "json", "--output-keys", "unique_id", *project_args(project_dir, Path(target), profiles)])
    if not result.success:
        raise DbtBuildError(f"dbt ls {' '.join(selection)} failed: {result.exception}")
    return [json.loads(line)["unique_id"] for line in result.result]


def _prune_oldest(target_dir: Path, pattern: str, keep: int) -> None:
    """Keep the ``keep`` newest directories matching ``pattern``: per-warehouse parse states and
    per-step artefacts would otherwise pile up in target/ (tests make many)."""
    import shutil

    def modified(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except FileNotFoundError:  # removed meanwhile by another process
            return 0.0

    for stale in sorted(target_dir.glob(pattern), key=modified, reverse=True)[keep:]:
        shutil.rmtree(stale, ignore_errors=True)


def release_warehouse() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after an invocation.

    Otherwise the warehouse file stays locked by this process (other processes, such as
    ``dbt docs generate`` or a test's reader, cannot open it) until the process ends.
    """
    close_duckdb_environment()


def _failures(result, sample_rows: Callable[[str], list[dict]] | None = None) -> list[str]:
    """One line per failed node; a failed test's line shows its first failing rows when
    ``sample_rows`` can run its compiled SQL (which country, year and values disagree)."""
    if result.exception is not None:
        return [f"{type(result.exception).__name__}: {result.exception}"]
    failed = [node for node in getattr(result.result, "results", []) if str(node.status) in ("error", "fail", "runtime error")]
    lines = []
    for node in failed:
        line = f"{node.node.unique_id}: {node.status}: {(node.message or '').strip()[:500]}"
        compiled = getattr(node.node, "compiled_code", None)
        if sample_rows is not None and node.node.resource_type == "test" and compiled:
            try:
                line += f"; failing rows, e.g. {sample_rows(compiled)}"
            except Exception as exc:  # the sample only adds detail; the failure stands without it
                line += f" (failing rows not shown: {type(exc).__name__})"
        lines.append(line)
    return lines


def runs_every_asset(context: dg.AssetExecutionContext) -> bool:
    """Whether the step was asked for every model and every test of the dbt asset (not a subset
    picked in the UI or by an asset selection)."""
    assets_def = context.assets_def
    return (set(context.selected_asset_keys) == set(assets_def.keys)
            and set(context.selected_asset_check_keys) == set(assets_def.check_keys))


def build(context: dg.AssetExecutionContext, command: Sequence[str],
          project_dir: Path = DBT_PROJECT_DIR, sample_rows: Callable[[str], list[dict]] | None = None,
          narrow_to: Sequence[str] | None = None, profile: Mapping[str, str] | None = None) -> Iterator[Any]:
    """Run ``dbt <command>`` for this step's selection in-process; yield Dagster's events for it.

    ``profile``: the values of dbt's profile (``Settings.dbt_env()``), handed to dbt without the process
    environment (``profiles_dir``); None: dbt reads them from the environment, as when run by hand.

    ``narrow_to``: dbt selection arguments that replace "everything" when the step runs every asset
    (the models downstream of the sources that changed). Models and tests outside it yield no
    event: Dagster shows them as not materialized, and their planned checks as skipped.
    Raises ``DbtBuildError`` after the events of the nodes that did run, so a failed build fails
    the step (and nothing downstream, such as publishing, runs on it).
    """
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import msg_to_dict

    utils = asset_utils()
    manifest, translator = manifest_and_translator(context.assets_def)
    selection, indirect_selection = utils.get_subset_selection_for_context(
        context=context,
        manifest=manifest,
        select=context.op.tags.get(utils.DAGSTER_DBT_SELECT_METADATA_KEY),
        exclude=context.op.tags.get(utils.DAGSTER_DBT_EXCLUDE_METADATA_KEY),
        selector=context.op.tags.get(utils.DAGSTER_DBT_SELECTOR_METADATA_KEY),
        dagster_dbt_translator=translator,
        current_dbt_indirect_selection_env=None,
    )
    if narrow_to is not None and runs_every_asset(context):
        selection, indirect_selection = list(narrow_to), None  # dbt's eager indirect selection: tests of any rebuilt parent
    # artefacts of each step apart, as dagster-dbt does, so runs never overwrite each other's
    target_path = project_dir / "target" / f"step-{context.op.name}-{context.run_id[:8]}"
    _prune_oldest(project_dir / "target", "step-*", keep=16)
    result_events: list[Mapping[str, Any]] = []

    def keep_result(event) -> None:
        if event.info.name in RESULT_EVENT_NAMES:
            result_events.append(msg_to_dict(event))

    manifest_parsed = parsed_manifest(project_dir, profile)
    with profiles_dir(project_dir, profile) as profiles:
        args = invocation_args(command, selection, indirect_selection, project_dir, target_path, profiles)
        context.log.info(f"dbt (in-process): {' '.join(args)}")
        try:
            result = dbtRunner(manifest=manifest_parsed, callbacks=[keep_result]).invoke(args)
        finally:
            release_warehouse()
    for raw_event in result_events:
        event = event_message(dict(raw_event))
        yield from event.to_default_asset_events(manifest=manifest, dagster_dbt_translator=translator,
                                                 context=context, target_path=target_path)
    if not result.success:
        failures = _failures(result, sample_rows)
        raise DbtBuildError(
            description=f"dbt {' '.join(command)} failed ({len(failures)} node(s)); dbt's log: {target_path / 'dbt.log'}\n"
            + "\n".join(failures),
        )
