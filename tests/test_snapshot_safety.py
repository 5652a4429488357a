"""Readers are never blocked and never see half a refresh; killed or concurrent refreshes never
corrupt the published snapshot (warehouse/publish.py, pipelines/defs/resources.py).

Refreshes run as real `python -m nocfit.cli refresh` processes. Where timing matters the test
makes it deterministic by holding the warehouse lock itself (the refresh is then provably stuck
before writing) or by polling the staging folder of a refresh that is provably writing.

Refreshes that complete also carry a real source change (IRCC revising a cut-off), so readers
can tell the snapshots apart. Each test works on a private copy of the session's warehouse and
trained model, so a refresh there does not retrain the mapper (same data, same code).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from nocfit.runner import PID_TAG, fail_abandoned_runs, open_instance, run_job
from nocfit.sources.fetch import file_sha256
from pipelines.defs.resources import WarehouseResource
from tests.conftest import PROJECT_ROOT, cli_as_a_terminal_runs_it, nocfit_env
from warehouse.connection import connect
from warehouse.publish import SnapshotSession, lock_path, staging_dir

#: Generous: the machine may be slow, but every wait below ends as soon as its condition holds.
PATIENCE = 180.0
ROUNDS = "ircc/ee_rounds_123_en.json"

SNAPSHOT_SQL = """
SELECT (SELECT created_at FROM meta.schema_info),
       (SELECT crs_cutoff FROM ircc.rounds WHERE round_number = '437'),
       (SELECT count(*) FROM meta.source_changes),
       (SELECT count(*) FROM noc.titles),
       (SELECT sum(invitations) FROM ircc.rounds),
       (SELECT max(updated_at) FROM meta.asset_fingerprints)
"""


@dataclass
class Installation:
    env: dict[str, str]
    warehouse: Path
    rounds: Path  # the IRCC rounds file in its (writable) sources folder

    @property
    def staging(self) -> Path:
        return staging_dir(self.warehouse)

    def staging_files(self) -> list[Path]:
        return sorted(self.staging.glob("*.duckdb")) if self.staging.is_dir() else []


def bump_newest_cutoff(rounds: Path) -> int:
    """IRCC corrects the newest round's CRS cut-off (+1); returns the new value."""
    data = rounds.read_bytes()
    found = re.search(rb'"drawCRS":"(\d+)"', data)
    assert found
    value = int(found[1]) + 1
    rounds.write_bytes(data[: found.start(1)] + str(value).encode() + data[found.end(1) :])
    return value


@pytest.fixture
def installation(private_warehouse: Path, writable_sources: Path, tmp_path: Path) -> Installation:
    """A private installation (writable sources); this process's environment points at it."""
    # An installation's Dagster instance exists before its refreshes (opening a brand-new one
    # at once from several processes has its own test below).
    with open_instance():
        pass
    return Installation(nocfit_env(tmp_path, writable_sources), private_warehouse, writable_sources / ROUNDS)


class Refresh:
    """`nocfit refresh` in a subprocess, its output going to files that can be polled."""

    def __init__(
        self, inst: Installation, *args: str, name: str = "refresh", terminal: bool = False, **env: str
    ) -> None:
        """``terminal``: started as a terminal starts it (conftest.cli_as_a_terminal_runs_it)."""
        folder = inst.warehouse.parent.parent
        self.out_path, self.err_path = folder / f"{name}.out", folder / f"{name}.err"
        command = cli_as_a_terminal_runs_it() if terminal else [sys.executable, "-m", "nocfit.cli"]
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.process = subprocess.Popen(
                [*command, "refresh", *args],
                cwd=PROJECT_ROOT,
                env={**os.environ, **inst.env, **env},
                stdout=out,
                stderr=err,
                start_new_session=terminal,
            )

    @property
    def out(self) -> str:
        return self.out_path.read_text(errors="replace")

    @property
    def err(self) -> str:
        return self.err_path.read_text(errors="replace")

    def wait_for(self, condition, what: str) -> None:
        deadline = time.monotonic() + PATIENCE
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(
                    f"refresh exited ({self.process.returncode}) before {what}:\n{self.out}\n{self.err}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}:\n{self.out}\n{self.err}")
            time.sleep(0.005)

    def finish(self) -> int:
        try:
            return self.process.wait(timeout=PATIENCE)
        finally:
            if self.process.poll() is None:
                self.process.kill()

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        assert self.process.wait(timeout=PATIENCE) == -signal.SIGKILL


@contextlib.contextmanager
def warehouse_lock(inst: Installation) -> Iterator[None]:
    """Hold the refresh lock the way a refresh does (flock on <warehouse>.lock)."""
    fd = os.open(lock_path(inst.warehouse), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} (the test)".encode(), 0)
        yield
    finally:
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def snapshot(con: duckdb.DuckDBPyConnection) -> tuple:
    return con.execute(SNAPSHOT_SQL).fetchone()


def assert_valid(warehouse: Path) -> None:
    with connect(warehouse) as con:
        assert con.execute("SELECT count(*) FROM noc.unit_groups").fetchone()[0] == 516
        assert con.execute("SELECT count(*) FROM noc.main_duties").fetchone()[0] == 4991
        assert con.execute("SELECT count(*) FROM ircc.rounds").fetchone()[0] == 438
        assert con.execute("SELECT count(*) FROM meta.schema_info").fetchone()[0] == 1


def read_in_new_process(warehouse: Path) -> str:
    """The newest round's cut-off, as a connection opened by a new process sees it."""
    code = (
        "import sys; from warehouse.connection import connect; "
        f"print(connect(sys.argv[1]).execute({SNAPSHOT_SQL!r}).fetchone()[1])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(warehouse)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=PATIENCE,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# ---------------------------------------------------------------- readers


def test_reader_keeps_its_snapshot_during_and_after_a_refresh(installation: Installation) -> None:
    reader = connect(installation.warehouse)
    old = snapshot(reader)
    assert old[1] == 382
    before = file_sha256(installation.warehouse)

    new_cutoff = bump_newest_cutoff(installation.rounds)
    refresh = Refresh(installation, "--force")  # rewrites every table
    reads = 0
    while refresh.process.poll() is None:
        assert snapshot(reader) == old  # never blocked, never a mix of old and new tables
        reads += 1
        time.sleep(0.01)
    assert refresh.finish() == 0, refresh.err
    assert reads > 0 and "published snapshot" in refresh.err

    assert file_sha256(installation.warehouse) != before  # a new snapshot was swapped in...
    assert snapshot(reader) == old  # ...while the open reader still reads the old one, whole
    assert read_in_new_process(installation.warehouse) == str(new_cutoff)  # new connections: new one
    reader.close()
    # In one process DuckDB reuses an open database instance for the same path: only once all
    # connections are closed does connect() open the new file (see docs/warehouse.md).
    with connect(installation.warehouse) as con:
        new = snapshot(con)
    assert new[0] > old[0] and new[1] == new_cutoff and new[2] == old[2] + 1
    assert new[3:5] == old[3:5] and new[5] > old[5]  # same counts, every table rebuilt
    assert not installation.staging.exists()


def test_read_write_connection_to_the_published_file_does_not_break_the_refresh(
    installation: Installation, capsys: pytest.CaptureFixture[str]
) -> None:
    """Someone opens the published file read-write (duckdb without -readonly) and writes.

    Before the fix, the refresh could not read the schema version through DuckDB's file lock,
    took the snapshot for an old schema and rebuilt it from scratch (meta.source_changes
    history lost); and the writer's WAL left beside the new file made every reader fail with
    "WAL does not match database file".
    """
    with connect(installation.warehouse) as con:
        history = con.execute("SELECT * FROM meta.source_changes ORDER BY changed_at").fetchall()
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
            "con.execute('CREATE TABLE main.scratch AS SELECT 42 AS answer'); "
            "print('ready', flush=True); time.sleep(600)",
            str(installation.warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "ready"
        wal = installation.warehouse.with_name(installation.warehouse.name + ".wal")
        assert wal.exists()
        bump_newest_cutoff(installation.rounds)
        capsys.readouterr()
        assert run_job("refresh_rounds").success  # what the daily schedule runs
        err = capsys.readouterr().err
        assert "building a fresh" not in err and "not a readable" not in err
        assert "removed nocfit.duckdb.wal" in err
        assert read_in_new_process(installation.warehouse) == "383"  # opens while the writer lives
    finally:
        writer.kill()
        writer.wait()
    assert_valid(installation.warehouse)
    with connect(installation.warehouse) as con:
        after = con.execute("SELECT * FROM meta.source_changes ORDER BY changed_at").fetchall()
    assert after[: len(history)] == history  # the history was kept, not restarted
    [change] = after[len(history) :]
    assert change[0] == "ircc_rounds" and change[2] is not None


# ---------------------------------------------------------------- killed refreshes


def test_refresh_killed_while_waiting_for_the_lock_changes_nothing(installation: Installation) -> None:
    before = file_sha256(installation.warehouse)
    with warehouse_lock(installation):
        refresh = Refresh(installation, "--force", NOCFIT_LOCK_TIMEOUT="600")
        refresh.wait_for(lambda: "waiting for another refresh" in refresh.err, "it waits for the lock")
        assert f"(pid {os.getpid()} (the test))" in refresh.err
        assert installation.staging_files() == []  # it never started writing
        refresh.kill()
    assert file_sha256(installation.warehouse) == before
    assert_valid(installation.warehouse)
    # The next refresh is not blocked: the kernel released the dead process's lock.
    new_cutoff = bump_newest_cutoff(installation.rounds)
    assert run_job("refresh_rounds").success
    with connect(installation.warehouse) as con:
        assert snapshot(con)[1] == new_cutoff


def test_ctrl_c_stops_a_refresh_with_one_line_and_changes_nothing(installation: Installation) -> None:
    """Ctrl-C signals the terminal's whole process group, which holds the processes Dagster
    starts to mirror a step's output; each used to print a KeyboardInterrupt traceback."""
    before = file_sha256(installation.warehouse)
    with warehouse_lock(installation):  # the refresh waits inside its first writing step
        refresh = Refresh(installation, "--force", terminal=True, NOCFIT_LOCK_TIMEOUT="600")
        refresh.wait_for(lambda: "waiting for another refresh" in refresh.err, "it waits for the lock")
        time.sleep(2)  # the step's log watchers (Python) are past their start-up by now
        os.killpg(refresh.process.pid, signal.SIGINT)
        code = refresh.finish()
    assert code == 130, refresh.err
    assert refresh.err.rstrip().endswith("nocfit: interrupted")
    assert "Traceback" not in refresh.err and "KeyboardInterrupt" not in refresh.err, refresh.err
    assert file_sha256(installation.warehouse) == before


def test_refresh_killed_while_writing_leaves_the_old_snapshot(installation: Installation) -> None:
    before = file_sha256(installation.warehouse)
    with connect(installation.warehouse) as con:
        old = snapshot(con)
    # The test holds the lock until the refresh is waiting for it: from the release on, the
    # refresh is writing its staging snapshot (--force: every table), which lives until it
    # publishes, seconds later.
    with warehouse_lock(installation):
        refresh = Refresh(installation, "--force", NOCFIT_LOCK_TIMEOUT="600")
        refresh.wait_for(lambda: "waiting for another refresh" in refresh.err, "it waits for the lock")
    refresh.wait_for(
        lambda: installation.staging_files() and "[ 1/" in refresh.out, "the first table is written"
    )
    refresh.kill()

    stale = installation.staging_files()
    assert stale, "the refresh was killed before it finished, so its staging file is still there"
    assert "published snapshot" not in refresh.err
    assert file_sha256(installation.warehouse) == before
    assert_valid(installation.warehouse)
    with connect(installation.warehouse) as con:
        assert snapshot(con) == old

    # Dagster was never told: the killed run is STARTED for ever, and (run-granularity pool) it
    # held the nocfit_warehouse slot, so runs the daemon launched later queued for ever.
    instance = open_instance()
    [dead] = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    assert dead.tags[PID_TAG] == str(refresh.process.pid)
    # A re-execution from the UI copies the dead run's tags; it is someone else's live run.
    from dagster._core.storage.dagster_run import DagsterRun

    copy = instance.add_run(
        DagsterRun(
            job_name=dead.job_name,
            run_id=str(uuid.uuid4()),
            tags={**dead.tags, "dagster/parent_run_id": dead.run_id},
            status=dg.DagsterRunStatus.STARTED,
        )
    )

    # The next refresh is not blocked by the dead one (the kernel dropped its flock), deletes the
    # stale staging folder, publishes its own work, and marks the dead run failed.
    new_cutoff = bump_newest_cutoff(installation.rounds)
    assert run_job("refresh_rounds").success
    assert not installation.staging.exists() and not any(p.exists() for p in stale)
    assert_valid(installation.warehouse)
    with connect(installation.warehouse) as con:
        assert snapshot(con)[1] == new_cutoff
    assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(copy.run_id).status == dg.DagsterRunStatus.STARTED


def test_a_live_refresh_is_never_marked_failed(installation: Installation) -> None:
    with warehouse_lock(installation):
        refresh = Refresh(installation, "--force", NOCFIT_LOCK_TIMEOUT="600")
        refresh.wait_for(lambda: "waiting for another refresh" in refresh.err, "it waits for the lock")
        assert fail_abandoned_runs(open_instance()) == []
    assert refresh.finish() == 0


# ---------------------------------------------------------------- concurrent refreshes


def test_two_refreshes_started_together_run_one_after_the_other(installation: Installation) -> None:
    new_cutoff = bump_newest_cutoff(installation.rounds)
    # Both start while the test holds the lock, so both are provably waiting when it is released
    # and they race for it; the loser waits for the winner, then works on the winner's snapshot.
    with warehouse_lock(installation):
        first = Refresh(installation, "--force", name="first", NOCFIT_LOCK_TIMEOUT="600")
        second = Refresh(installation, "--force", name="second", NOCFIT_LOCK_TIMEOUT="600")
        for refresh in (first, second):
            refresh.wait_for(lambda r=refresh: "waiting for another refresh" in r.err, "it waits")
    assert first.finish() == 0, first.err
    assert second.finish() == 0, second.err
    for refresh in (first, second):
        assert "published snapshot" in refresh.err and "refresh finished" in refresh.out
    assert_valid(installation.warehouse)
    with connect(installation.warehouse) as con:
        assert snapshot(con)[1] == new_cutoff
        # The change was loaded once: the second refresh started from the first one's snapshot
        # (copied after taking the lock), not from a stale copy, so nothing was lost or doubled.
        changes = con.execute("SELECT source_key FROM meta.source_changes WHERE old_sha256 IS NOT NULL")
        assert changes.fetchall() == [("ircc_rounds",)]
    assert not installation.staging.exists()
    assert lock_path(installation.warehouse).read_text() == ""  # released by the last one


def test_processes_opening_a_brand_new_instance_together_all_succeed(tmp_path: Path) -> None:
    # Without the lock in open_instance about a third of such processes failed here ("table runs
    # already exists", alembic "more than one head"); 3 x 4 processes all passing by luck
    # would happen about one time in a hundred.
    opener = "from nocfit.runner import open_instance\nwith open_instance() as i: print(i.get_runs_count())"
    for trial in range(3):
        home = tmp_path / f"home{trial}"
        env = {**os.environ, "DAGSTER_HOME": str(home), "NOCFIT_DATA": str(tmp_path / f"data{trial}")}
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", opener],
                env=env,
                cwd=PROJECT_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(4)
        ]
        results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in processes]
        for code, out, err in results:
            assert code == 0 and out.strip() == b"0", err.decode()[-2000:]
        assert (home / "dagster.yaml").read_text() == (PROJECT_ROOT / "deploy" / "dagster.yaml").read_text()


def test_second_refresh_with_short_timeout_fails_clearly(installation: Installation) -> None:
    before = file_sha256(installation.warehouse)
    # A refresh in progress in this process: lock held, staging snapshot being written.
    session = SnapshotSession(installation.warehouse, lock_timeout=0).begin()
    try:
        refresh = Refresh(installation, NOCFIT_LOCK_TIMEOUT="0.5")
        assert refresh.finish() == 1
        assert f"another refresh (pid {os.getpid()} since" in refresh.err
        assert "is writing" in refresh.err and "NOCFIT_LOCK_TIMEOUT" in refresh.err
        assert "left unchanged" in refresh.err
        assert session.staging is not None and session.staging.exists()  # untouched by the loser
    finally:
        session.abort()
    assert file_sha256(installation.warehouse) == before
    assert_valid(installation.warehouse)
    assert not installation.staging.exists()


# ---------------------------------------------------------------- resource bugs fixed


@dg.asset
def scratch(warehouse: WarehouseResource) -> None:
    warehouse.connection().execute("INSERT INTO meta.asset_fingerprints VALUES ('scratch', 'x', now())")
    warehouse.mark_changed()


@dg.asset
def other(warehouse: WarehouseResource) -> None:
    warehouse.connection()


PROMISED: list[str] = []


@dg.asset
def promises(warehouse: WarehouseResource) -> None:
    warehouse.connection()
    warehouse.after_publish(lambda: PROMISED.append("model promoted"))


@dg.asset
def breaks(warehouse: WarehouseResource) -> None:
    warehouse.connection()
    raise RuntimeError("the rounds file is broken")


def test_what_a_run_records_happens_only_if_its_snapshot_is_published(tmp_path: Path) -> None:
    """A failed refresh used to swap in the new model while keeping the old tables."""
    PROMISED.clear()
    published = tmp_path / "w.duckdb"
    resources = {"warehouse": WarehouseResource(path=str(published))}
    assert not dg.materialize([promises, breaks], resources=resources, raise_on_error=False).success
    assert not dg.materialize([promises, scratch], resources=resources, raise_on_error=False).success
    assert PROMISED == []  # a failed step, then a snapshot that could not be published


def test_what_a_run_records_happens_once_its_snapshot_is_published(cloned: dict[str, str]) -> None:
    PROMISED.clear()
    resources = {"warehouse": WarehouseResource(path=cloned["NOCFIT_WAREHOUSE"])}
    assert dg.materialize([promises, scratch], resources=resources).success
    assert PROMISED == ["model promoted"]


def test_a_snapshot_that_cannot_be_published_fails_the_run(tmp_path: Path) -> None:
    """Publishing happens in resource teardown; its failure used to leave the run SUCCESS."""
    published = tmp_path / "w.duckdb"
    result = dg.materialize(
        [scratch], resources={"warehouse": WarehouseResource(path=str(published))}, raise_on_error=False
    )
    assert not result.success  # the snapshot has empty core tables: IncompleteSnapshot
    assert result.get_failed_step_keys() == set()  # every step succeeded; publishing failed
    error = result.get_run_failure_event().event_specific_data.error.to_string()
    assert "SnapshotNotPublished" in error and "IncompleteSnapshot" in error
    assert not published.exists() and not staging_dir(published).exists()
    SnapshotSession(published, lock_timeout=0).begin().abort()  # the lock was released


def test_every_step_reports_a_busy_warehouse(tmp_path: Path) -> None:
    """A failed start used to leave a half-made session: later steps said 'not started'."""
    published = tmp_path / "w.duckdb"
    holder = SnapshotSession(published, lock_timeout=0).begin()
    try:
        result = dg.materialize(
            [scratch, other],
            resources={"warehouse": WarehouseResource(path=str(published), lock_timeout_seconds=0.2)},
            raise_on_error=False,
        )
    finally:
        holder.abort()
    assert not result.success
    errors = {
        e.step_key: e.step_failure_data.error.to_string()
        for e in result.all_events
        if e.event_type_value == "STEP_FAILURE"
    }
    assert set(errors) == {"scratch", "other"}
    assert all("WarehouseBusy" in message and "is writing" in message for message in errors.values())
