"""The instance storage configured in dagster.yaml: pooled SQLite, same files as Dagster's default."""

import shutil

import dagster as dg
import pytest

from orchestration.platform.instance_storage import PooledSqliteEventLogStorage
from orchestration.core.settings import PROJECT_ROOT

YEARS = dg.StaticPartitionsDefinition(["2023", "2024"])


@dg.asset(partitions_def=YEARS)
def yearly_value(context: dg.AssetExecutionContext) -> int:
    return int(context.partition_key)


@dg.asset_check(asset=yearly_value, blocking=True)
def yearly_value_positive() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


@pytest.fixture
def dagster_home(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_the_project_instance_uses_the_pooled_event_log_and_records_runs(dagster_home):
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        for year in YEARS.get_partition_keys():
            result = dg.materialize([yearly_value, yearly_value_positive], instance=instance, partition_key=year)
            assert result.success
        records = instance.fetch_materializations(yearly_value.key, limit=10).records
        assert sorted(record.partition_key for record in records) == ["2023", "2024"]
        assert len(instance.get_records_for_run(result.run_id).records) > 5


def test_what_it_wrote_reads_back_with_dagsters_default_sqlite_storage(dagster_home):
    with dg.DagsterInstance.get() as instance:
        run_id = dg.materialize([yearly_value], instance=instance, partition_key="2024").run_id
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.get() as default_instance:
        assert type(default_instance.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert default_instance.get_run_by_id(run_id).is_success
        [record] = default_instance.fetch_materializations(yearly_value.key, limit=10).records
        assert record.partition_key == "2024"


def test_deleting_a_run_drops_its_pooled_connections(dagster_home):
    with dg.DagsterInstance.get() as instance:
        run_id = dg.materialize([yearly_value], instance=instance, partition_key="2023").run_id
        assert run_id in instance.event_log_storage._engines
        instance.delete_run(run_id)
        assert run_id not in instance.event_log_storage._engines
        assert instance.get_run_by_id(run_id) is None
        assert not list(instance.event_log_storage.get_records_for_run(run_id).records)


def test_only_the_most_recently_used_shards_keep_a_pool(dagster_home, monkeypatch):
    monkeypatch.setattr(PooledSqliteEventLogStorage, "MAX_POOLED_SHARDS", 3)
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        run_ids = [dg.materialize([yearly_value], instance=instance, partition_key="2023").run_id
                   for _ in range(storage.MAX_POOLED_SHARDS + 2)]
        assert len(storage._engines) == storage.MAX_POOLED_SHARDS
        assert run_ids[-1] in storage._engines and run_ids[0] not in storage._engines
        # an evicted run's events are still there: its shard is simply reopened
        assert instance.get_run_by_id(run_ids[0]).is_success
        assert len(storage.get_records_for_run(run_ids[0]).records) > 5


@dg.asset(partitions_def=YEARS, backfill_policy=dg.BackfillPolicy.single_run())
def yearly_range(context: dg.AssetExecutionContext) -> None:
    return None


RANGE_TAGS = {"dagster/asset_partition_range_start": "2023", "dagster/asset_partition_range_end": "2024"}


def test_a_partition_range_is_stored_in_batches_one_transaction_each(dagster_home, monkeypatch):
    """Dagster sends a range's materializations (and the run's planned events) to store_event_batch
    (private layout: see PooledSqliteEventLogStorage.store_event_batch); every event arrives, and
    Dagster's default storage reads them back."""
    batches = []
    original = PooledSqliteEventLogStorage.store_event_batch

    def counting(self, events):
        batches.append([event.dagster_event_type for event in events])
        return original(self, events)

    monkeypatch.setattr(PooledSqliteEventLogStorage, "store_event_batch", counting)
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize([yearly_range], instance=instance, tags=RANGE_TAGS)
        assert result.success
    assert [len(batch) for batch in batches if dg.DagsterEventType.ASSET_MATERIALIZATION in batch] == [2]
    assert any(dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED in batch and len(batch) == 2 for batch in batches)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.get() as default_instance:
        records = default_instance.fetch_materializations(yearly_range.key, limit=10).records
        assert sorted(record.partition_key for record in records) == ["2023", "2024"]
        assert default_instance.get_run_by_id(result.run_id).is_success


def test_a_batch_that_fails_half_way_stores_none_of_its_events(dagster_home, monkeypatch):
    with dg.DagsterInstance.get() as instance:
        run_id = dg.materialize([yearly_value], instance=instance, partition_key="2023").run_id
        storage = instance.event_log_storage
        events = [record.event_log_entry for record in storage.get_records_for_run(run_id).records][:3]
        stored_before = len(storage.get_records_for_run(run_id).records)
        original, calls = PooledSqliteEventLogStorage.store_event, []

        def fail_on_the_second(self, event):
            calls.append(event)
            if len(calls) == 2:
                raise RuntimeError("disk full")
            return original(self, event)

        monkeypatch.setattr(PooledSqliteEventLogStorage, "store_event", fail_on_the_second)
        with pytest.raises(RuntimeError, match="disk full"):
            storage.store_event_batch(events)
        monkeypatch.undo()
        assert len(storage.get_records_for_run(run_id).records) == stored_before
        storage.store_event_batch(events)  # and the storage is usable after it
        assert len(storage.get_records_for_run(run_id).records) == stored_before + 3


MANY_YEARS = dg.StaticPartitionsDefinition([str(year) for year in range(2000, 2025)])


@dg.asset(partitions_def=MANY_YEARS, backfill_policy=dg.BackfillPolicy.single_run())
def many_years(context: dg.AssetExecutionContext) -> None:
    return None


@dg.asset_check(asset=many_years, blocking=True)
def many_years_checked() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def test_schema_reads_do_not_grow_with_the_events_of_a_run(dagster_home, monkeypatch):
    """Dagster asks before each asset event and check evaluation whether the tables and the asset key
    index column exist; the pooled event log answers a "present" from memory (never an "absent"), so a
    run of 25 materializations reads the schema no more often than a run of 2."""
    from sqlalchemy.dialects.sqlite.base import SQLiteDialect

    asked = []
    has_table, get_columns = SQLiteDialect.has_table, SQLiteDialect.get_columns

    def counting_has_table(self, connection, table_name, *args, **kwargs):
        asked.append(table_name)
        return has_table(self, connection, table_name, *args, **kwargs)

    def counting_get_columns(self, connection, table_name, *args, **kwargs):
        asked.append(f"columns of {table_name}")
        return get_columns(self, connection, table_name, *args, **kwargs)

    monkeypatch.setattr(SQLiteDialect, "has_table", counting_has_table)
    monkeypatch.setattr(SQLiteDialect, "get_columns", counting_get_columns)

    def schema_reads(first: str, last: str) -> dict[str, int]:
        with dg.DagsterInstance.get() as instance:
            asked.clear()  # the instance's start-up checks are not the question
            tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
            assert dg.materialize([many_years, many_years_checked], instance=instance, tags=tags).success
            reads = {name: asked.count(name) for name in ("asset_event_tags", "asset_check_executions", "columns of asset_keys")}
            storage = instance.event_log_storage
            assert not storage.has_table("kpi_no_such_table") and not storage.has_table("kpi_no_such_table")
            assert asked.count("kpi_no_such_table") == 2
            return reads

    two, twenty_five = schema_reads("2023", "2024"), schema_reads("2000", "2024")
    assert two == twenty_five and all(two.values()), (two, twenty_five)
    with dg.DagsterInstance.get() as instance:  # what was written with those answers is all there
        assert len(instance.fetch_materializations(many_years.key, limit=100).records) == 27
        check_key = dg.AssetCheckKey(many_years.key, "many_years_checked")
        assert len(instance.event_log_storage.get_asset_check_execution_history(check_key, limit=20)) == 2
