"""Data-quality checks on warehouse tables, as plain functions (Dagster asset checks wrap them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from nocfit.sources.catalog import spec
from nocfit.sources.fetch import REDOWNLOAD_HINT

#: NOC 2021 Version 1.0 has 516 unit groups.
EXPECTED_UNIT_GROUPS = 516


@dataclass
class CheckOutcome:
    passed: bool
    description: str
    metadata: dict[str, object] = field(default_factory=dict)


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> int:
    return int(con.execute(sql, list(params)).fetchone()[0])


def _without_problems(
    found: bool, problems: list[str], passed: str, summary: str, metadata: dict[str, object]
) -> CheckOutcome:
    """Passes when something was found and nothing is wrong; a failure lists the first problems."""
    ok = found and not problems
    return CheckOutcome(
        ok, passed if ok else f"{summary}; problems: {problems[:10]}", {**metadata, "problems": len(problems)}
    )


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


#: A file may have this share fewer rows than its published version (a reissue with errata)
#: before the table is refused: a cut-off file loses far more.
PUBLISHED_ROWS_TOLERANCE = 0.02


def rows_as_published(
    con: duckdb.DuckDBPyConnection, source_key: str, tolerance: float = PUBLISHED_ROWS_TOLERANCE
) -> CheckOutcome:
    """The file a table was read from has (nearly) the rows its published version has: a file
    cut at a line break parses cleanly and would otherwise publish, and train on, part of it."""
    published = spec(source_key).published_rows
    assert published is not None, f"{source_key} has no published row count"
    found = con.execute(
        "SELECT file_name, rows FROM meta.source_files WHERE source_key = ?", [source_key]
    ).fetchone()
    if found is None:
        return CheckOutcome(False, f"no file recorded for {source_key}", {"published": published})
    name, rows = found
    minimum = math.ceil(published * (1 - tolerance))
    description = f"{name}: {rows:,} rows; its published version has {published:,}"
    if rows < minimum:
        description += (
            f": fewer than {minimum:,}, the file looks cut short. Compare it with the official file "
            f"(in nocfit's own cache, {REDOWNLOAD_HINT})"
        )
    return CheckOutcome(rows >= minimum, description, {"rows": rows, "published": published})


def profiles_cover_unit_groups(con: duckdb.DuckDBPyConnection, table: str) -> CheckOutcome:
    """Every unit group has rows in an OaSIS text table (each publishes all 516): a file cut
    at a line break parses cleanly, and would otherwise publish and train on half the duties."""
    missing = [
        row[0]
        for row in con.execute(
            f"SELECT code FROM noc.unit_groups EXCEPT SELECT code FROM {table} ORDER BY 1"
        ).fetchall()
    ]
    covered = _scalar(con, f"SELECT count(DISTINCT code) FROM {table}")
    return CheckOutcome(
        covered > 0 and not missing,
        f"{table} covers {covered} unit groups; missing {len(missing)}, e.g. {missing[:10]}"
        if missing
        else f"{table} covers all {covered} unit groups",
        {"covered": covered, "missing": len(missing)},
    )


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


# ---------------------------------------------------------------- ircc
#: The stored rounds JSON (through round 437, 2026-08-19) has 438 rounds; IRCC only adds rounds.
MIN_ROUNDS = 438
#: Round names that look like a category round ("... (Version 1)", "... 2026-Version 3").
CATEGORY_LIKE_NAME = "(?i)version|occupation|proficiency"
#: Rules an occupation category must set (continuous may be 'unknown', never missing).
OCCUPATION_RULES = (
    "min_months",
    "window_months",
    "continuous",
    "single_occupation",
    "full_time_hours_per_week",
    "experience_location",
)
LANGUAGE_RULES = (
    "language",
    "language_scale",
    "language_min_level",
    "language_abilities",
    "test_validity_months",
)


def category_codes_match_noc(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """Every category code is a NOC unit group with the official title; noc_count agrees."""
    bad = con.execute(
        "SELECT o.version_id || '/' || o.category_id || ' ' || o.noc_code || "
        "  CASE WHEN u.code IS NULL THEN ' not a unit group' ELSE ' title ' || o.title END "
        "FROM ircc.category_occupations o LEFT JOIN noc.unit_groups u ON u.code = o.noc_code "
        "WHERE u.code IS NULL OR u.title <> o.title ORDER BY 1"
    ).fetchall()
    miscounted = con.execute(
        "SELECT c.version_id || '/' || c.category_id FROM ircc.categories c "
        "LEFT JOIN (SELECT version_id, category_id, count(*) AS n FROM ircc.category_occupations GROUP BY ALL) o "
        "USING (version_id, category_id) WHERE c.noc_count <> coalesce(o.n, 0) ORDER BY 1"
    ).fetchall()
    rows = _scalar(con, "SELECT count(*) FROM ircc.category_occupations")
    problems = [r[0] for r in bad] + [f"{r[0]} noc_count differs from its codes" for r in miscounted]
    return _without_problems(
        rows > 0,
        problems,
        f"{rows} category codes, all NOC unit groups with official titles",
        f"{rows} category codes",
        {"codes": rows},
    )


def category_versions_do_not_overlap(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """Versions exist, have sane dates and never share a day (only the newest may be open)."""
    overlaps = con.execute(
        "SELECT a.version_id || ' and ' || b.version_id FROM ircc.category_versions a "
        "JOIN ircc.category_versions b ON a.version_id < b.version_id "
        "AND a.effective_from <= coalesce(b.effective_to, DATE '9999-12-31') "
        "AND b.effective_from <= coalesce(a.effective_to, DATE '9999-12-31') ORDER BY 1"
    ).fetchall()
    backwards = con.execute(
        "SELECT version_id FROM ircc.category_versions WHERE effective_to < effective_from ORDER BY 1"
    ).fetchall()
    versions = _scalar(con, "SELECT count(*) FROM ircc.category_versions")
    problems = [f"{r[0]} overlap" for r in overlaps] + [f"{r[0]} ends before it starts" for r in backwards]
    return _without_problems(
        versions > 0,
        problems,
        f"{versions} versions, no overlaps",
        f"{versions} versions",
        {"versions": versions},
    )


def category_rules_complete(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """Occupation categories set every rule and list codes; language categories their test rule."""
    columns = ", ".join(
        dict.fromkeys(
            (
                "version_id",
                "category_id",
                "kind",
                "noc_count",
                "assessable",
                "not_assessable_reason",
                *OCCUPATION_RULES,
                *LANGUAGE_RULES,
            )
        )
    )
    cursor = con.execute(f"SELECT {columns} FROM ircc.categories ORDER BY version_id, category_id")
    names = [d[0] for d in cursor.description]
    problems: list[str] = []
    rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    for row in rows:
        where = f"{row['version_id']}/{row['category_id']}"
        required = {"occupation": OCCUPATION_RULES, "language": LANGUAGE_RULES}.get(row["kind"], ())
        missing = [c for c in required if row[c] is None]
        if missing:
            problems.append(f"{where}: {', '.join(missing)} missing")
        if row["kind"] == "occupation" and row["noc_count"] == 0:
            problems.append(f"{where}: no NOC codes")
        if not row["assessable"] and not row["not_assessable_reason"]:
            problems.append(f"{where}: not assessable without a reason")
    occupation = sum(r["kind"] == "occupation" for r in rows)
    return _without_problems(
        occupation > 0,
        problems,
        f"{len(rows)} categories ({occupation} occupation), every rule set",
        f"{len(rows)} categories",
        {"categories": len(rows), "occupation_categories": occupation},
    )


def rounds_complete(con: duckdb.DuckDBPyConnection, minimum: int = MIN_ROUNDS) -> CheckOutcome:
    """Every round of the file is in ircc.rounds, with positive integer invitations and cut-offs."""
    rounds = _scalar(con, "SELECT count(*) FROM ircc.rounds")
    # load_table records the number of rounds parsed from the file (parse_rounds rejects any bad round).
    row = con.execute("SELECT rows FROM meta.source_files WHERE source_key = 'ircc_rounds'").fetchone()
    in_file = int(row[0]) if row else -1
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'ircc' AND table_name = 'rounds' AND column_name IN ('invitations', 'crs_cutoff')"
        ).fetchall()
    )
    bad_values = _scalar(
        con,
        "SELECT count(*) FROM ircc.rounds WHERE invitations IS NULL OR invitations <= 0 "
        "OR crs_cutoff IS NULL OR crs_cutoff <= 0",
    )
    sort_keys = _scalar(con, "SELECT count(DISTINCT round_sort_key) FROM ircc.rounds")
    total = _scalar(con, "SELECT coalesce(sum(invitations), 0) FROM ircc.rounds")
    problems = []
    if rounds != in_file:
        problems.append(f"{rounds} rows but {in_file} rounds in the file")
    if rounds < minimum:
        problems.append(f"fewer than {minimum} rounds")
    if types != {"invitations": "INTEGER", "crs_cutoff": "INTEGER"}:
        problems.append(f"column types {types}")
    if bad_values:
        problems.append(f"{bad_values} rounds without positive invitations and cut-off")
    if sort_keys != rounds:
        problems.append("round_sort_key not unique")
    return CheckOutcome(
        not problems,
        f"{rounds} rounds (file: {in_file}), {total:,} invitations"
        + (f"; {'; '.join(problems)}" if problems else ""),
        {"rounds": rounds, "rounds_in_file": in_file, "minimum": minimum, "invitations": total},
    )


def category_rounds_mapped(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """Every round naming a category carries a category and version that exist; others carry none."""
    bad = con.execute(
        f"""
        SELECT r.round_number || ' ' || r.round_name
        FROM ircc.rounds r
        LEFT JOIN ircc.draw_names d ON d.draw_name = r.round_name
        LEFT JOIN ircc.categories c ON c.version_id = r.version_id AND c.category_id = r.category_id
        WHERE d.draw_name IS NULL
           OR ((d.kind = 'category' OR r.round_type = 'category-based'
                OR regexp_matches(r.round_name, '{CATEGORY_LIKE_NAME}'))
               AND (r.category_id IS NULL OR r.version_id IS NULL OR c.category_id IS NULL
                    OR r.category_id <> d.category_id))
           OR (d.kind = 'non_category' AND (r.category_id IS NOT NULL OR r.version_id IS NOT NULL))
        ORDER BY r.round_sort_key
        """
    ).fetchall()
    mapped = _scalar(con, "SELECT count(*) FROM ircc.rounds WHERE category_id IS NOT NULL")
    return CheckOutcome(
        not bad,
        f"{mapped} category rounds, each with its category and version"
        if not bad
        else f"{len(bad)} rounds badly mapped, e.g. {[r[0] for r in bad[:5]]}",
        {"category_rounds": mapped, "bad": len(bad)},
    )
