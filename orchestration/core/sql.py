"""SQL text the pipeline builds itself: identifiers from a fixed pattern, literals escaped.

Nothing from settings or source files is spliced into SQL as text except through these two
functions; values go in as ``?`` parameters wherever the engine takes them.
"""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def identifier(name: str) -> str:
    """A quoted SQL identifier; table and column names come from source specs, never from data."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a valid identifier")
    return f'"{name}"'


def sql_string(value: str) -> str:
    """A SQL string literal, for the few places DuckDB takes no parameter (ATTACH and COPY paths)."""
    return "'" + value.replace("'", "''") + "'"


def pyformat(sql: str) -> str:
    """SQL written with ``?`` parameters (DuckDB's style) in the ``%s`` style of PostgreSQL's driver,
    so that both engines run one text. Only for the pipeline's own SQL, which has no ``?`` or ``%``
    of its own."""
    if "%" in sql:
        raise ValueError("SQL with a literal % cannot be converted to pyformat parameters")
    return sql.replace("?", "%s")
