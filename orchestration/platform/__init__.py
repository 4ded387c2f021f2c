"""How the stages run in Dagster: assets, jobs, schedules, sensors, executor, instance storage, alerts."""
