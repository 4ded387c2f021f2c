"""Where versions before 0.2.0 kept the instance storage: a ``DAGSTER_HOME/dagster.yaml`` copied from
them still names this module. The storage lives in ``orchestration.platform.instance_storage``;
this name goes in the next version (CHANGELOG.md)."""

from orchestration.platform.instance_storage import PooledSqliteEventLogStorage, PooledSqliteStorage  # noqa: F401
