"""The warehouse engine a run writes: DuckDB (one file) or PostgreSQL, chosen by ``KPI_WAREHOUSE``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from orchestration.load.postgres_warehouse import PostgresWarehouse
from orchestration.load.warehouse import DuckDBWarehouse, Warehouse

if TYPE_CHECKING:
    from orchestration.core.settings import Settings


def as_warehouse(warehouse: "Warehouse | Path") -> Warehouse:
    """A warehouse; a DuckDB file's path stands for the DuckDB warehouse in it."""
    return DuckDBWarehouse(warehouse) if isinstance(warehouse, Path) else warehouse


def warehouse_for(settings: "Settings") -> Warehouse:
    """The warehouse engine ``KPI_WAREHOUSE`` selects."""
    if settings.warehouse == "postgres":
        return PostgresWarehouse(settings.postgres)
    return DuckDBWarehouse(settings.warehouse_path)
