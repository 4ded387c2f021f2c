"""KPI Warehouse: the Dagster code location (definitions, sources, assets, checks)."""
