"""Atomic snapshot publishing: readers never block a refresh and never see half of one.

The file named by NOCFIT_WAREHOUSE is the *published snapshot*. Nothing ever writes to it in
place. A refresh takes an exclusive lock (``<warehouse>.lock``), copies the published file into
a staging folder beside it, writes there, checkpoints, and swaps the staging file in with
``os.replace`` - an atomic rename on POSIX. Readers that already have the old file open keep
reading the old inode; new readers open the new snapshot. A refresh that fails or is killed
leaves the published file untouched; its staging file is deleted by the next refresh.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse import schema
from warehouse.tables import row_count


class WarehouseBusy(RuntimeError):
    """Another refresh holds the warehouse lock."""


class IncompleteSnapshot(RuntimeError):
    """A snapshot about to be published lacks core tables."""


def staging_dir(published: Path) -> Path:
    return published.parent / f".{published.name}.staging"


def lock_path(published: Path) -> Path:
    return published.with_name(published.name + ".lock")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def published_schema_version(path: Path) -> str | None:
    """The schema version recorded in a snapshot file, or None if absent/unreadable.

    Opens ``path`` read-only: call it on a private copy, not on the published file (see begin).
    """
    if not path.exists():
        return None
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            row = con.execute("SELECT schema_version FROM meta.schema_info LIMIT 1").fetchone()
            return row[0] if row else None
    except duckdb.Error:
        return None


class SnapshotSession:
    """One refresh's private copy of the warehouse; publish it with :meth:`commit`.

    Use as a context manager: on a clean exit the snapshot is published if anything was
    written, on an exception it is discarded.
    """

    def __init__(
        self,
        published: Path,
        *,
        lock_timeout: float = 0.0,
        log: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.published = Path(published)
        self.lock_timeout = lock_timeout
        self.log = log
        self.staging: Path | None = None
        self.fresh = False
        self.dirty = False
        self._lock_fd: int | None = None
        self._con: duckdb.DuckDBPyConnection | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def begin(self) -> SnapshotSession:
        self.published.parent.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        try:
            folder = staging_dir(self.published)
            if folder.exists():  # left by a refresh that died: we hold the lock, so it is stale
                shutil.rmtree(folder)
            folder.mkdir()
            self.staging = folder / f"{uuid.uuid4().hex}.duckdb"
            # Copy first, then read the schema version from the private copy: opening the
            # published file itself fails while someone holds it open read-write (DuckDB's
            # file lock), and that must not pass for "schema changed" and rebuild everything
            # from scratch, losing meta.source_changes history.
            previous: Path | None = None
            if self.published.exists():
                shutil.copyfile(self.published, self.staging)
                current = published_schema_version(self.staging)
                if current != schema.schema_version():
                    self.fresh = True
                    if current is None:
                        self.staging.unlink()
                        self.log(f"{self.published} is not a readable nocfit snapshot: building a fresh one")
                    else:
                        previous = self.staging.with_name("previous.duckdb")
                        self.staging.rename(previous)
            else:
                self.fresh = True
            con = self.connection()
            schema.apply(con)
            if previous is not None:
                self._carry_over(con, previous)
            con.execute("DELETE FROM meta.schema_info")
            con.execute(
                "INSERT INTO meta.schema_info VALUES (?, ?)", [schema.schema_version(), datetime.now()]
            )
        except BaseException:
            self.abort()
            raise
        return self

    def _carry_over(self, con: duckdb.DuckDBPyConnection, previous: Path) -> None:
        """After a schema change, keep every table whose columns did not change.

        History (meta.source_changes, mapper.evaluations, candidates) survives an upgrade; a
        table whose definition changed starts empty, and its fingerprint is dropped so its
        loader rebuilds it in this run.
        """
        columns_sql = (
            "SELECT table_schema || '.' || table_name, "
            "list(column_name || ' ' || data_type ORDER BY ordinal_position) "
            "FROM information_schema.columns WHERE table_catalog = ? GROUP BY 1"
        )
        current = con.execute("SELECT current_database()").fetchone()[0]
        con.execute(f"ATTACH '{previous}' AS previous_snapshot (READ_ONLY)")
        try:
            new = dict(con.execute(columns_sql, [current]).fetchall())
            old = dict(con.execute(columns_sql, ["previous_snapshot"]).fetchall())
            views = {
                r[0]
                for r in con.execute(
                    "SELECT schema_name || '.' || view_name FROM duckdb_views() WHERE database_name = ?",
                    [current],
                ).fetchall()
            }
            kept = sorted(
                t for t in new if t not in views and old.get(t) == new[t] and t != "meta.schema_info"
            )
            for table in kept:
                con.execute(f"INSERT INTO {table} SELECT * FROM previous_snapshot.{table}")
        finally:
            con.execute("DETACH previous_snapshot")
            previous.unlink(missing_ok=True)
        rebuilt = sorted(t for t in new if t not in kept and t not in views and t != "meta.schema_info")
        if "meta.asset_fingerprints" in kept:
            candidates_kept = all(t in kept for t in new if t.startswith("candidates.") and t not in views)
            con.execute(
                "DELETE FROM meta.asset_fingerprints WHERE NOT list_contains(?, asset) "
                "AND NOT (starts_with(asset, 'candidates:') AND ?)",
                [kept, candidates_kept],
            )
        self.log(
            f"warehouse schema changed: kept {len(kept)} unchanged tables"
            + (f", rebuilding {', '.join(rebuilt)}" if rebuilt else "")
        )

    def connection(self) -> duckdb.DuckDBPyConnection:
        """The read-write connection to the staging snapshot (one per session)."""
        if self.staging is None:
            raise RuntimeError("snapshot session not started")
        if self._con is None:
            self._con = duckdb.connect(str(self.staging))
        return self._con

    def mark_dirty(self) -> None:
        self.dirty = True

    def commit(self) -> bool:
        """Publish the staging snapshot atomically. Returns False if nothing was written."""
        try:
            if not self.dirty:
                self.log("no changes: the published snapshot is kept as it is")
                return False
            con = self.connection()
            empty = [t for t in schema.CORE_TABLES if row_count(con, t) == 0]
            if empty:
                raise IncompleteSnapshot(
                    "refusing to publish a snapshot with empty core table(s) "
                    f"{', '.join(empty)}; run a full `nocfit refresh`"
                )
            con.execute("CHECKPOINT")
            con.close()
            self._con = None
            assert self.staging is not None
            with open(self.staging, "rb") as handle:
                os.fsync(handle.fileno())
            self._remove_foreign_wal()
            os.replace(self.staging, self.published)
            _fsync_dir(self.published.parent)
            self.log(f"published snapshot {self.published}")
            return True
        finally:
            self.abort()

    def _remove_foreign_wal(self) -> None:
        """Delete ``<published>.wal``: only a read-write connection to the published file makes
        one, and beside the new snapshot DuckDB refuses it ("WAL does not match database file"),
        so every reader would fail until it is gone."""
        wal = self.published.with_name(self.published.name + ".wal")
        if wal.exists():
            wal.unlink(missing_ok=True)
            self.log(
                f"removed {wal.name}, left by a read-write connection to the published snapshot "
                "(open it read-only: refreshes replace the file, writes to it are lost)"
            )

    def abort(self) -> None:
        """Discard the staging snapshot (if still there) and release the lock."""
        if self._con is not None:
            with contextlib.suppress(duckdb.Error):
                self._con.close()
            self._con = None
        folder = staging_dir(self.published)
        if self.staging is not None and folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        self.staging = None
        self._release_lock()

    def __enter__(self) -> SnapshotSession:
        return self.begin()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()

    # -- lock ------------------------------------------------------------------------------
    def _acquire_lock(self) -> None:
        path = lock_path(self.published)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.lock_timeout
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                holder = _read_holder(fd)
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise WarehouseBusy(
                        f"another refresh ({holder}) is writing {self.published}; "
                        "wait for it to finish (or raise NOCFIT_LOCK_TIMEOUT to wait longer)"
                    ) from None
                if not announced:
                    self.log(f"waiting for another refresh ({holder}) to finish")
                    announced = True
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {datetime.now():%Y-%m-%d %H:%M:%S}".encode(), 0)
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            try:
                os.ftruncate(self._lock_fd, 0)
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            finally:
                os.close(self._lock_fd)
                self._lock_fd = None


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown process"
    except OSError:
        return "unknown process"
