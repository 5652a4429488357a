"""Write rows into warehouse tables: whole-table replacement inside one transaction."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import duckdb


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, rolling back on any exception so a table is never half-written."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
    """Append rows (dicts keyed by column name) using Arrow; columns are matched by name."""
    if not rows:
        return 0
    import pyarrow as pa

    incoming = pa.Table.from_pylist(list(rows))
    con.register("_nocfit_incoming", incoming)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _nocfit_incoming")
    finally:
        con.unregister("_nocfit_incoming")
    return len(rows)


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def get_fingerprint(con: duckdb.DuckDBPyConnection, asset: str) -> str | None:
    row = con.execute("SELECT fingerprint FROM meta.asset_fingerprints WHERE asset = ?", [asset]).fetchone()
    return row[0] if row else None


def set_fingerprint(con: duckdb.DuckDBPyConnection, asset: str, fingerprint: str) -> None:
    con.execute(
        "INSERT OR REPLACE INTO meta.asset_fingerprints VALUES (?, ?, ?)",
        [asset, fingerprint, datetime.now()],
    )
