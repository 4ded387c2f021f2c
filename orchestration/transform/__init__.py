"""Stage 5, transform: dbt over what changed."""
