"""Dagster assets: one loading asset per source (assets/sources.py), the dbt project, publishing."""
