"""Open the published warehouse snapshot for reading, with errors a user can act on."""

from __future__ import annotations

from pathlib import Path

import duckdb


class WarehouseUnavailable(RuntimeError):
    """The warehouse is missing or cannot be opened; the message says what to do."""


def connect(path: Path | str | None = None, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Connect to the published snapshot (read-only by default).

    Read-only connections never block a refresh: refreshes write a new file and swap it in.
    A read-only connection attaches the file to a fresh in-memory database, because
    ``duckdb.connect(path)`` reuses a database the process already has open for that path,
    which after a refresh is the previous snapshot.
    """
    from nocfit import config

    target = Path(path) if path is not None else config.warehouse_path()
    if read_only and not target.exists():
        raise WarehouseUnavailable(
            f"no warehouse at {target}: run `uv run nocfit refresh` first "
            "(or set NOCFIT_WAREHOUSE to an existing snapshot)"
        )
    try:
        if not read_only:
            return duckdb.connect(str(target))
        con = duckdb.connect(":memory:")
        escaped = str(target).replace("'", "''")
        con.execute(f"ATTACH '{escaped}' AS nocfit (READ_ONLY)")
        con.execute("USE nocfit")
        return con
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            raise WarehouseUnavailable(
                f"{target} is locked by another process that opened it for writing ({exc}). "
                "Open it read-only (duckdb -readonly, or read_only=True) so refreshes and "
                "readers never block each other."
            ) from exc
        raise WarehouseUnavailable(f"cannot open {target}: {exc}") from exc
