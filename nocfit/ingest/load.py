"""Load parsed source rows into a warehouse table, with provenance and change detection.

A table built from source files carries a *fingerprint*: the sha256 of every file it was built
from (plus the files it was validated against and the loader version). When the fingerprint is
unchanged the load is skipped; when a file's hash changes, ``meta.source_changes`` records it.
Everything for one table happens in one transaction: either the new rows, their provenance
and the fingerprint all land, or none of them do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from nocfit.sources.fetch import FetchedSource
from warehouse.tables import get_fingerprint, insert_rows, row_count, set_fingerprint, transaction

#: Bump when parsing or loading logic changes in a way that should reload unchanged files.
LOADER_VERSION = "1"

Rows = list[dict[str, object]]


@dataclass
class LoadResult:
    table: str
    rows: int
    changed: bool
    sources: dict[str, str] = field(default_factory=dict)  # source key -> sha256

    @property
    def sources_summary(self) -> str:
        """'key=<first 12 hex of sha256>, ...' for run metadata."""
        return ", ".join(f"{k}={v[:12]}" for k, v in self.sources.items()) or "none"


def source_sha256(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("SELECT sha256 FROM meta.source_files WHERE source_key = ?", [key]).fetchone()
    return row[0] if row else None


def fingerprint(
    tables: Sequence[str],
    hashes: Mapping[str, str],
    reference: Mapping[str, str | None],
    *,
    version: str = LOADER_VERSION,
) -> str:
    """What the ``tables`` were built from: loader version, file hashes and reference hashes."""
    parts = [version, *tables]
    parts += [f"{k}={v}" for k, v in sorted(hashes.items())]
    parts += [f"ref:{k}={v}" for k, v in sorted(reference.items())]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def record_source(
    con: duckdb.DuckDBPyConnection, fetched: FetchedSource, sha: str, rows: int, tables: Sequence[str]
) -> bool:
    """Upsert meta.source_files; append meta.source_changes when the content changed."""
    now = datetime.now()
    previous = con.execute(
        "SELECT sha256, rows FROM meta.source_files WHERE source_key = ?", [fetched.spec.key]
    ).fetchone()
    changed = previous is None or previous[0] != sha
    if changed:
        con.execute(
            "INSERT INTO meta.source_changes VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                fetched.spec.key,
                fetched.spec.name,
                previous[0] if previous else None,
                sha,
                previous[1] if previous else None,
                rows,
                now,
            ],
        )
    con.execute("DELETE FROM meta.source_files WHERE source_key = ?", [fetched.spec.key])
    con.execute(
        "INSERT INTO meta.source_files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [fetched.spec.key, fetched.spec.name, fetched.url, sha, fetched.bytes, rows, list(tables), now],
    )
    return changed


def forget_sources_gone(con: duckdb.DuckDBPyConnection, table: str, kept: Sequence[str]) -> None:
    """Files that used to feed ``table`` and are gone (an optional file removed) leave
    meta.source_files, and meta.source_changes records the removal (new_sha256 '', 0 rows)."""
    gone = con.execute(
        "SELECT source_key, file_name, sha256, rows FROM meta.source_files "
        "WHERE list_contains(tables, ?) AND NOT list_contains(?::VARCHAR[], source_key)",
        [table, list(kept)],
    ).fetchall()
    for key, name, sha, rows in gone:
        con.execute(
            "INSERT INTO meta.source_changes VALUES (?, ?, ?, '', ?, 0, ?)",
            [key, name, sha, rows, datetime.now()],
        )
        con.execute("DELETE FROM meta.source_files WHERE source_key = ?", [key])


def load_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    sources: Sequence[FetchedSource],
    parse: Callable[[], Mapping[str, Rows]],
    *,
    validated_against: Sequence[str] = (),
    after_insert: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    force: bool = False,
) -> LoadResult:
    """Replace ``table`` with the rows parsed from ``sources`` unless nothing changed.

    ``parse`` returns rows per source key (so each file's row count is recorded);
    ``validated_against`` names already-loaded sources whose content the rows were checked
    against (e.g. the NOC structure), which therefore also invalidate the table;
    ``after_insert`` adds rows derived from other tables inside the same transaction.
    """
    hashes = {s.spec.key: s.sha256() for s in sources}
    reference = {key: source_sha256(con, key) for key in validated_against}
    built_from = fingerprint([table], hashes, reference)
    if not force and get_fingerprint(con, table) == built_from:
        return LoadResult(table, row_count(con, table), changed=False, sources=hashes)

    per_source = parse()  # raises SourceFormatError before anything is written
    by_key = {s.spec.key: s for s in sources}
    with transaction(con):
        con.execute(f"DELETE FROM {table}")
        for key, rows in per_source.items():
            insert_rows(con, table, rows)
            record_source(con, by_key[key], hashes[key], len(rows), [table])
        forget_sources_gone(con, table, kept=list(per_source))
        if after_insert is not None:
            after_insert(con)
        set_fingerprint(con, table, built_from)
        total = row_count(con, table)
    return LoadResult(table, total, changed=True, sources=hashes)


def rebuild_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    select_sql: str,
    *,
    built_from: Sequence[str] = (),
    force: bool = False,
) -> LoadResult:
    """Replace a derived table with a query's result, unless the sources it is ``built_from``
    (source keys) and the query are unchanged since the last build."""
    reference = {key: source_sha256(con, key) for key in built_from}
    built_from = fingerprint([table], {"sql": hashlib.sha256(select_sql.encode()).hexdigest()}, reference)
    if not force and get_fingerprint(con, table) == built_from:
        return LoadResult(table, row_count(con, table), changed=False)
    with transaction(con):
        con.execute(f"DELETE FROM {table}")
        con.execute(f"INSERT INTO {table} BY NAME {select_sql}")
        set_fingerprint(con, table, built_from)
        return LoadResult(table, row_count(con, table), changed=True)
