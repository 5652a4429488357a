"""Data-quality checks on warehouse tables, as plain functions (Dagster asset checks wrap them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

#: NOC 2021 Version 1.0 has 516 unit groups.
EXPECTED_UNIT_GROUPS = 516


@dataclass
class CheckOutcome:
    passed: bool
    description: str
    metadata: dict[str, object] = field(default_factory=dict)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> int:
    return int(con.execute(sql, list(params)).fetchone()[0])


def unit_group_count(con: duckdb.DuckDBPyConnection, expected: int = EXPECTED_UNIT_GROUPS) -> CheckOutcome:
    count = _scalar(con, "SELECT count(*) FROM noc.unit_groups")
    return CheckOutcome(count == expected, f"{count} unit groups (expected {expected})", {"count": count})


def codes_in_structure(
    con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str] = ("code",)
) -> CheckOutcome:
    """Every code in ``columns`` is five digits and a unit group of noc.structure."""
    bad: dict[str, object] = {}
    samples: list[str] = []
    for column in columns:
        sql = (
            f"SELECT DISTINCT t.{column} FROM {table} t "
            f"LEFT JOIN noc.structure s ON s.code = t.{column} AND s.level = 5 "
            f"WHERE t.{column} IS NOT NULL AND (NOT regexp_full_match(t.{column}, '[0-9]{{5}}') OR s.code IS NULL)"
        )
        found = [row[0] for row in con.execute(sql).fetchall()]
        bad[f"invalid_{column}"] = len(found)
        samples += found[:5]
    rows = _scalar(con, f"SELECT count(*) FROM {table}")
    passed = all(v == 0 for v in bad.values()) and rows > 0
    description = f"{table}: {rows} rows, " + (
        "every code is a five-digit unit group" if passed else f"invalid codes e.g. {samples}"
    )
    return CheckOutcome(passed, description, {"rows": rows, **bad})


def no_empty_text(con: duckdb.DuckDBPyConnection, table: str, column: str) -> CheckOutcome:
    empty = _scalar(con, f"SELECT count(*) FROM {table} WHERE {column} IS NULL OR trim({column}) = ''")
    return CheckOutcome(empty == 0, f"{empty} empty {column} values in {table}", {"empty": empty})


def concordance_covers_unit_groups(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    missing = [
        row[0]
        for row in con.execute(
            "SELECT code FROM noc.unit_groups EXCEPT SELECT noc2021_code FROM noc.concordance_2016_2021 ORDER BY 1"
        ).fetchall()
    ]
    covered = _scalar(con, "SELECT count(DISTINCT noc2021_code) FROM noc.concordance_2016_2021")
    return CheckOutcome(
        not missing and covered > 0,
        f"concordance reaches {covered} unit groups; missing {missing[:10]}"
        if missing
        else f"concordance reaches all {covered} unit groups",
        {"covered": covered, "missing": len(missing)},
    )
