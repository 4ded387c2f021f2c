"""What a stand-in publisher is: one source's files served from the bundled snapshot's real bytes."""

from __future__ import annotations

import dataclasses

from orchestration.fetch.archive import Landing, list_landings
from orchestration.sources.contract import SourceSpec
from tests.conftest import SNAPSHOT_DIR

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclasses.dataclass
class Publisher:
    """One source served live: its files by path, the path a fault is aimed at, env and settings tweaks."""
    spec: SourceSpec
    files: dict[str, tuple[bytes, str]]  # path -> (body, content type)
    target: str  # the main data file's path
    kind: str  # what the target is: xlsx, pdf, csv, json
    env: dict[str, str]  # extra environment (explicit file URLs), with {base} for the server's URL
    settings_overrides: dict = dataclasses.field(default_factory=dict)
    # an API that selects its page by a query parameter: (path, parameter); its files are keyed
    # "<path>/<parameter>=<value>" so that each page is a file of its own for the fault queue
    paged_by_query: tuple[str, str] | None = None

    def file_key(self, path: str, args) -> str | None:
        """The file a request asks for, or None when the request is not this publisher's paged API."""
        if self.paged_by_query and path == self.paged_by_query[0]:
            return f"{path}/{self.paged_by_query[1]}={args.get(self.paged_by_query[1])}"
        return None

    def served_path(self, file_path: str) -> str:
        """The URL path a file is served at (a paged API's pages share one): where socket faults aim."""
        if self.paged_by_query and file_path.startswith(self.paged_by_query[0] + "/"):
            return self.paged_by_query[0]
        return file_path

    def served_paths(self) -> set[str]:
        """The URL paths the server answers for this publisher."""
        return {self.served_path(path) for path in self.files}


def snapshot_landing(source: str, prefix: str = "") -> Landing:
    """The bundled snapshot's landing of ``source`` whose fetch id starts with ``prefix``."""
    return next(landing for landing in list_landings(SNAPSHOT_DIR, source) if landing.fetch_id.startswith(prefix))


def snapshot_file(landing: Landing, prefix: str) -> bytes:
    return next(f for f in landing.files if f.file.startswith(prefix)).read_bytes()
