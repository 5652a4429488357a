"""Schedules, sensor and jobs of pipelines/defs/automation.py; change detection end to end;
deploy/dagster.yaml loads as a Dagster 1.13 instance with the warehouse pool limited to 1."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from nocfit.cli import main
from nocfit.runner import run_job
from nocfit.sources.catalog import BASE_URL_ENV, SOURCES
from nocfit.sources.fetch import file_sha256
from pipelines.definitions import defs
from pipelines.defs import automation
from pipelines.defs.common import WAREHOUSE_POOL, table_key
from tests.conftest import PROJECT_ROOT, private_installation
from tests.test_sources import OfficialSite

ROUNDS = "ircc/ee_rounds_123_en.json"
TORONTO = ZoneInfo("America/Toronto")


def keys(job_name: str, definitions: dg.Definitions = defs) -> set[str]:
    job = definitions.resolve_job_def(job_name)
    return {k.to_user_string() for k in job.asset_layer.executable_asset_keys}


def check_keys(job_name: str) -> set[str]:
    job = defs.resolve_job_def(job_name)
    return {f"{k.asset_key.to_user_string()}:{k.name}" for k in job.asset_layer.asset_graph.asset_check_keys}


# ---------------------------------------------------------------- schedules


@pytest.mark.parametrize(
    ("name", "job", "cron", "refresh"),
    [
        ("weekly_sources_refresh", "refresh_sources", "0 4 * * 0", "sources"),
        ("daily_rounds_refresh", "refresh_rounds", "0 6 * * *", "rounds"),
    ],
)
def test_schedule_requests_its_job_with_download_refresh(
    name: str, job: str, cron: str, refresh: str
) -> None:
    schedule = defs.resolve_schedule_def(name)
    assert schedule.job_name == job
    assert schedule.cron_schedule == cron and schedule.execution_timezone == "America/Toronto"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED

    tick = dt.datetime(2026, 3, 8, int(cron.split()[1]), tzinfo=TORONTO)  # a DST-change Sunday
    result = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=tick))
    assert result.skip_message is None
    [request] = result.run_requests
    assert request.job_name in (None, job)  # None: the schedule's own job
    assert request.run_config == {"resources": {"sources": {"config": {"refresh_downloads": True}}}}
    assert request.tags["nocfit/schedule"] == name
    assert request.tags["nocfit/trigger"] == "schedule"
    assert request.tags["nocfit/refresh"] == refresh
    # The run config is valid for the job: the `sources` resource takes refresh_downloads.
    processed = dg.validate_run_config(defs.resolve_job_def(job), request.run_config)
    assert processed["resources"]["sources"]["config"]["refresh_downloads"] is True


def test_schedules_and_sensor_are_registered() -> None:
    assert {s.name for s in defs.schedules} >= {"weekly_sources_refresh", "daily_rounds_refresh"}
    assert {s.name for s in defs.sensors} >= {"sources_folder_sensor"}
    assert defs.resolve_job_def("refresh")  # the `nocfit refresh` job is still there


# ---------------------------------------------------------------- job selections


def test_weekly_job_covers_every_noc_and_ircc_asset() -> None:
    weekly = keys("refresh_sources")
    expected = {
        spec.key.to_user_string()
        for asset in defs.assets
        if asset.partitions_def is None
        for spec in asset.specs
        if spec.group_name != automation.CANDIDATES_GROUP
    }
    assert weekly == expected
    noc_ircc = {k.to_user_string() for a in defs.assets for k in a.keys if k.path[0] in ("noc", "ircc")}
    assert noc_ircc and noc_ircc <= weekly
    assert {"noc/structure", "noc/titles", "noc/main_duties", "noc/concordance_2016_2021"} <= weekly
    assert {"ircc/categories", "ircc/category_occupations", "ircc/rounds"} <= weekly
    assert not any(k.startswith("candidates/") for k in weekly)
    assert "noc/unit_groups:has_516_unit_groups" in check_keys("refresh_sources")


def test_daily_job_is_rounds_and_downstream_only() -> None:
    daily = keys("refresh_rounds")
    assert "ircc/rounds" in daily
    assert "noc/titles" not in daily and "ircc/categories" not in daily
    assert daily == {"ircc/rounds"}  # nothing unpartitioned is built from the rounds yet
    assert check_keys("refresh_rounds") == {
        "ircc/rounds:all_rounds_loaded",
        "ircc/rounds:category_rounds_mapped",
        "ircc/rounds:sources_fresh",  # the daily job re-downloads the rounds: a failure is a WARN
    }


def test_selections_include_assets_added_later_but_never_candidates() -> None:
    """A mapper model group added later is scheduled without editing automation.py; a
    candidates group (partitioned batches, or not) never is."""

    @dg.asset(key=["later", "model"], group_name="later_models", deps=[table_key("noc.titles")])
    def model() -> None: ...

    @dg.asset(key=["later", "round_stats"], group_name="later_models", deps=[table_key("ircc.rounds")])
    def round_stats() -> None: ...

    batches = dg.DynamicPartitionsDefinition(name="later_batches")

    @dg.asset(key=["later", "fit"], group_name="candidates", partitions_def=batches, deps=[model])
    def fit() -> None: ...

    @dg.asset(key=["later", "summary"], group_name="candidates", deps=[table_key("ircc.rounds")])
    def summary() -> None: ...

    later = dg.Definitions(
        assets=[*defs.assets, model, round_stats, fit, summary],
        asset_checks=list(defs.asset_checks),
        jobs=automation.JOBS,
        resources=defs.resources,
    )
    weekly, daily = keys("refresh_sources", later), keys("refresh_rounds", later)
    assert {"later/model", "later/round_stats", "noc/titles", "ircc/rounds"} <= weekly
    assert weekly - {"later/model", "later/round_stats"} == keys("refresh_sources")
    assert daily == {"ircc/rounds", "later/round_stats"}
    assert not {"later/fit", "later/summary"} & (weekly | daily)


def test_every_warehouse_writer_is_in_the_warehouse_pool() -> None:
    writers = [a for a in defs.assets if "warehouse" in a.required_resource_keys]
    assert len(writers) >= 14
    for asset in writers:
        assert asset.op.pool == WAREHOUSE_POOL, asset.keys


# ---------------------------------------------------------------- sensor


def test_sources_folder_sensor_runs_on_content_changes(
    writable_sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOCFIT_SOURCES", str(writable_sources))
    sensor = defs.resolve_sensor_def("sources_folder_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED

    def tick(cursor: str | None):
        return sensor.evaluate_tick(dg.build_sensor_context(cursor=cursor))

    first = tick(None)  # remembers the folder, runs nothing
    assert not first.run_requests and "watching" in first.skip_message
    assert first.cursor and "ircc_rounds" in json.loads(first.cursor)
    same = tick(first.cursor)
    assert not same.run_requests and same.skip_message == "no source file changed"

    rounds = writable_sources / ROUNDS
    pristine = rounds.read_bytes()
    edited = pristine.replace(b'"drawCRS":"382"', b'"drawCRS":"383"', 1)
    rounds.write_bytes(edited)
    changed = tick(first.cursor)
    [request] = changed.run_requests
    assert request.job_name in (None, "refresh_sources") and sensor.job_name == "refresh_sources"
    assert request.tags["nocfit/sensor"] == "sources_folder_sensor"
    assert request.tags["nocfit/changed"] == "ircc_rounds"
    assert request.run_key and json.loads(changed.cursor)["ircc_rounds"] == file_sha256(rounds)
    assert not tick(changed.cursor).run_requests
    # Back to the first content, then the change again: each is a change, each gets a new key.
    rounds.write_bytes(pristine)
    back = tick(changed.cursor)
    rounds.write_bytes(edited)
    forth = tick(back.cursor)
    keys = {request.run_key, back.run_requests[0].run_key, forth.run_requests[0].run_key}
    assert len(keys) == 3

    monkeypatch.delenv("NOCFIT_SOURCES")  # the download cache: the schedules handle it
    assert "NOCFIT_SOURCES is not set" in tick(None).skip_message


# ---------------------------------------------------------------- change detection, end to end


def add_round(path: Path) -> None:
    """Publish round 438 on top of the file, formatted like IRCC's one-line-per-round JSON."""
    data = path.read_bytes()
    newest = json.loads(data)["rounds"][1]  # round 436, Canadian Experience Class
    new = {
        **newest,
        "drawNumber": "438",
        "drawNumberURL": newest["drawNumberURL"].replace("436", "438"),
        "drawDate": "2026-08-26",
        "drawDateFull": "August 26, 2026",
        "drawCRS": "519",
        "drawSize": "3,000",
    }
    marker = b'"rounds": [\r\n'  # the file has CRLF line ends
    assert marker in data
    line = b"        " + json.dumps(new, separators=(",", ":")).encode() + b",\r\n"
    path.write_bytes(data.replace(marker, marker + line, 1))


def change_cutoff(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"drawCRS":"382"', b'"drawCRS":"383"', 1))


def source_changes(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "SELECT source_key, file_name, old_sha256, new_sha256, rows_before, rows_after, changed_at "
            "FROM meta.source_changes ORDER BY changed_at, source_key"
        ).fetchall()


def run_daily_job() -> bool:
    return run_job(
        "refresh_rounds",
        run_config=automation.REFRESH_DOWNLOADS_CONFIG,
        tags={"nocfit/schedule": "daily_rounds_refresh"},
    ).success


def run_cli() -> bool:
    return main(["refresh"]) == 0


@pytest.mark.parametrize(
    ("change", "refresh", "rows_after"),
    [(add_round, run_daily_job, 439), (change_cutoff, run_cli, 438)],
    ids=["new_round_daily_job", "changed_cutoff_nocfit_refresh"],
)
def test_rounds_change_is_recorded_once(
    change: Callable[[Path], None],
    refresh: Callable[[], bool],
    rows_after: int,
    private_warehouse: Path,
    writable_sources: Path,
) -> None:
    rounds = writable_sources / ROUNDS
    old_sha = file_sha256(rounds)
    before = source_changes(private_warehouse)
    with duckdb.connect(str(private_warehouse), read_only=True) as con:
        noc_built = con.execute("SELECT * FROM meta.asset_fingerprints WHERE asset LIKE 'noc.%'").fetchall()

    change(rounds)
    new_sha = file_sha256(rounds)
    assert refresh()

    after = source_changes(private_warehouse)
    assert after[: len(before)] == before  # history is kept
    [added] = after[len(before) :]
    assert added[:6] == ("ircc_rounds", "ee_rounds_123_en.json", old_sha, new_sha, 438, rows_after)
    with duckdb.connect(str(private_warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ircc.rounds").fetchone()[0] == rows_after
        assert con.execute(
            "SELECT sha256, rows FROM meta.source_files WHERE source_key = 'ircc_rounds'"
        ).fetchone() == (new_sha, rows_after)
        if rows_after == 439:
            assert con.execute(
                "SELECT round_date, round_type, crs_cutoff FROM ircc.rounds WHERE round_number = '438'"
            ).fetchone() == (dt.date(2026, 8, 26), "program-specific", 519)
        # Unchanged NOC tables were not rebuilt.
        assert (
            con.execute("SELECT * FROM meta.asset_fingerprints WHERE asset LIKE 'noc.%'").fetchall()
            == noc_built
        )

    # Unchanged rerun (the daily job; `nocfit refresh` also re-assesses the example candidates,
    # which rewrites candidates.* and so republishes): nothing recorded, nothing republished.
    published = file_sha256(private_warehouse)
    assert run_daily_job()
    assert source_changes(private_warehouse) == after
    assert file_sha256(private_warehouse) == published


# ---------------------------------------------------------------- scheduled re-download of the cache


@pytest.fixture
def official_site(writable_sources: Path) -> Iterator[OfficialSite]:
    """The official sites on 127.0.0.1, serving a writable copy so a 'new release' can be made."""
    with OfficialSite(writable_sources) as server:
        yield server


def test_weekly_job_refetches_the_download_cache(
    official_site: OfficialSite,
    writable_sources: Path,
    refreshed: dict[str, str],
    tmp_path: Path,
    shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in private_installation(refreshed, tmp_path, shared_data).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("NOCFIT_SOURCES")  # nocfit's own cache under NOCFIT_DATA
    monkeypatch.delenv("NOCFIT_OFFLINE")
    for host, url in official_site.bases().items():
        monkeypatch.setenv(BASE_URL_ENV[host], url)
    required = [s for s in SOURCES if s.required]
    cache = tmp_path / "data" / "sources"
    # The cache as an earlier download left it, with the optional files the installation read
    # (else they would be recorded as gone, and the model retrained).
    for source in SOURCES:
        if (shared_data / source.relpath).is_file():
            (cache / source.relpath).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shared_data / source.relpath, cache / source.relpath)
    warehouse = tmp_path / "data" / "warehouse" / "nocfit.duckdb"
    before = source_changes(warehouse)

    # IRCC publishes a new round; the weekly schedule's run downloads every file again.
    add_round(writable_sources / ROUNDS)
    schedule = defs.resolve_schedule_def("weekly_sources_refresh")
    [request] = schedule.evaluate_tick(dg.build_schedule_context()).run_requests
    assert run_job(schedule.job_name, run_config=request.run_config, tags=request.tags).success
    assert {s.name: official_site.hits[s.name] for s in required} == {s.name: 1 for s in required}
    assert (cache / ROUNDS).read_bytes() == (writable_sources / ROUNDS).read_bytes()
    [added] = source_changes(warehouse)[len(before) :]
    assert added[0] == "ircc_rounds" and added[4:6] == (438, 439)


# ---------------------------------------------------------------- deploy/dagster.yaml


def test_deploy_dagster_yaml_is_a_valid_instance_with_one_warehouse_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROJECT_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        pools = instance.get_concurrency_config().pool_config
        assert pools.default_pool_limit == 1
        assert pools.pool_granularity.value == "run"
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
        info = storage.get_concurrency_info(WAREHOUSE_POOL)
        assert info.limit == 1 and info.using_default_limit
