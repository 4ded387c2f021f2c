"""Which dbt nodes a changed dbt project rebuilds: dbt's own ``state:modified+``, against the project
of every dbt build whose models the warehouse may still hold.

One ``--state`` describes one earlier project, but the warehouse's models may come from several: the
build the live publication was made from, and every build that started since, finished or not (a
build killed halfway has rewritten some models, perhaps with a project since changed back). A node
is current when neither it nor anything upstream of it changed against any of them, so the nodes
to rebuild are the union of ``state:modified+`` against each one (``dbt ls --state``, with the
manifest the warehouse keeps for that project). Every build records itself, and its project's
manifest, before it writes anything (``meta.transform_attempts``, ``meta.transform_states``).

dbt's state comparison does not see everything the marts depend on: the sources' contracts (read by
Python), the project's vars and settings (dbt_project.yml), and the versions of dbt and its adapters
(their macros). When any of these differs, or a manifest is missing (a warehouse built by 0.3.1 or
earlier), ``modified_nodes`` answers None: rebuild everything.
"""

from __future__ import annotations

import gzip
import hashlib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestration.core.settings import DBT_PROJECT_DIR
from orchestration.load.warehouse import TransformAttempt, Warehouse

STATE_RESOURCE_TYPES = ("model", "seed", "snapshot", "test")
# the distributions whose code builds the marts besides the project: a change to any rebuilds everything
DBT_DISTRIBUTIONS = ("dbt-core", "dbt-adapters", "dbt-duckdb", "dbt-postgres")


@dataclass(frozen=True)
class ProjectVersion:
    """What a dbt build computes the marts with."""

    transform_fingerprint: str  # models, seeds, macros, dbt_project.yml and the contracts (manifest.project_fingerprint)
    contracts_fingerprint: str
    settings_fingerprint: str  # dbt_project.yml: vars and configs dbt's state comparison does not see
    dbt_versions: str

    def attempt(self, run_id: str | None) -> TransformAttempt:
        return TransformAttempt(run_id, self.transform_fingerprint, self.contracts_fingerprint,
                                self.settings_fingerprint, self.dbt_versions)

    def comparable_with(self, attempt: TransformAttempt) -> bool:
        """Whether dbt's state comparison sees every difference between ``attempt``'s project and this one."""
        return (attempt.contracts_fingerprint, attempt.settings_fingerprint, attempt.dbt_versions) == (
            self.contracts_fingerprint, self.settings_fingerprint, self.dbt_versions)


def dbt_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "-"

    return " ".join(f"{name}=={installed(name)}" for name in DBT_DISTRIBUTIONS)


def current_version(project_dir: Path = DBT_PROJECT_DIR) -> ProjectVersion:
    from orchestration.sources import discover
    from orchestration.transform.contracts import contracts_fingerprint
    from orchestration.transform.manifest import project_fingerprint

    return ProjectVersion(
        transform_fingerprint=project_fingerprint(project_dir),
        contracts_fingerprint=hashlib.sha256(contracts_fingerprint(discover()).encode()).hexdigest(),
        settings_fingerprint=hashlib.sha256((project_dir / "dbt_project.yml").read_bytes()).hexdigest(),
        dbt_versions=dbt_versions(),
    )


def earlier_projects(publication: Mapping | None, attempts: list[TransformAttempt],
                     current: ProjectVersion) -> frozenset[str] | None:
    """The fingerprints of the projects other than ``current`` that built what the warehouse may hold:
    the live publication's build and every attempt since (``attempts``: those numbered from the
    publication's own). None when they cannot all be compared with ``current`` by dbt: nothing
    published, a publication that names no attempt (made by 0.3.1 or earlier) or one not recorded,
    or a difference dbt's state comparison would not see."""
    published_attempt = (publication or {}).get("transform_attempt")
    if published_attempt is None:
        return None
    since = [attempt for attempt in attempts if attempt.attempt_seq >= published_attempt]
    if not since or since[0].attempt_seq != published_attempt:
        return None
    if not all(current.comparable_with(attempt) for attempt in since):
        return None
    return frozenset(attempt.transform_fingerprint for attempt in since) - {current.transform_fingerprint}


def state_modified(state_manifest: bytes, project_dir: Path, profile: Mapping[str, str] | None) -> frozenset[str]:
    """The unique ids of ``state:modified+`` against the project whose manifest (gzip) is ``state_manifest``."""
    from orchestration.transform.dbt_runner import list_nodes

    with tempfile.TemporaryDirectory(prefix="dbt-state-") as state:
        (Path(state) / "manifest.json").write_bytes(gzip.decompress(state_manifest))
        return frozenset(list_nodes(["--select", "state:modified+", "--state", state], STATE_RESOURCE_TYPES,
                                    project_dir, profile))


def modified_nodes(store: Warehouse, publication: Mapping | None, current: ProjectVersion,
                   project_dir: Path = DBT_PROJECT_DIR, profile: Mapping[str, str] | None = None) -> frozenset[str] | None:
    """The unique ids of the nodes to rebuild because the dbt project changed since the builds the
    warehouse may hold (empty: it did not change), or None: rebuild everything (see the module)."""
    published_attempt = (publication or {}).get("transform_attempt")
    attempts = store.transform_attempts(published_attempt) if published_attempt is not None else []
    earlier = earlier_projects(publication, attempts, current)
    if earlier is None:
        return None
    modified: set[str] = set()
    for fingerprint in sorted(earlier):
        state_manifest = store.transform_state(fingerprint)
        if state_manifest is None:
            return None
        modified |= state_modified(state_manifest, project_dir, profile)
    return frozenset(modified)


def record_attempt(store: Warehouse, current: ProjectVersion, run_id: str | None, publication: Mapping | None,
                   project_dir: Path = DBT_PROJECT_DIR, profile: Mapping[str, str] | None = None) -> int:
    """Record that a build of ``current`` starts (before it writes anything), with its manifest, and
    drop the manifests no build since the live publication used. Returns the attempt's number."""
    from orchestration.transform.dbt_runner import parsed_manifest_json

    kept = store.transform_state(current.transform_fingerprint) is not None
    manifest = None if kept else gzip.compress(parsed_manifest_json(project_dir, profile), compresslevel=6)
    seq = store.record_transform_attempt(current.attempt(run_id), manifest)
    published_attempt = (publication or {}).get("transform_attempt")
    store.prune_transform_states(published_attempt if published_attempt is not None else seq)
    return seq
