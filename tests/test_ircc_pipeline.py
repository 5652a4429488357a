"""IRCC category versions and rounds in the warehouse, through `nocfit refresh`."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from nocfit import config
from nocfit.categories.load import load_versions, version_in_force
from nocfit.cli import main
from nocfit.sources.fetch import file_sha256
from tests.test_categories import EXPECTED_COUNTS

ROUNDS = "ircc/ee_rounds_123_en.json"
ROUNDS_FILE = "ee_rounds_123_en.json"
NEWEST_NAME = b'"drawName":"French-Language proficiency 2026-Version 2"'


@pytest.fixture
def con(refreshed: dict[str, str]):
    with duckdb.connect(refreshed["NOCFIT_WAREHOUSE"], read_only=True) as connection:
        yield connection


def scalar(con, sql: str, params: list | None = None):
    return con.execute(sql, params or []).fetchone()[0]


# ---------------------------------------------------------------- category versions


def test_versions_loaded(con) -> None:
    rows = con.execute(
        "SELECT version_id, effective_from, effective_to, file_name FROM ircc.category_versions ORDER BY 2"
    ).fetchall()
    assert len(rows) >= 4
    assert [r[0] for r in rows[:4]] == ["cbs-2023", "cbs-2024", "cbs-2025", "cbs-2026"]
    assert rows[0][1] == dt.date(2023, 5, 31) and rows[-1][2] is None
    assert all(r[3] == f"{r[0]}.yaml" for r in rows)
    for version_id, sha in con.execute(
        "SELECT version_id, file_sha256 FROM ircc.category_versions"
    ).fetchall():
        assert sha == file_sha256(config.categories_dir() / f"{version_id}.yaml")


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2024-03-01", "cbs-2024"),
        ("2025-06-01", "cbs-2025"),
        ("2026-06-01", "cbs-2026"),
        ("2023-05-30", None),
    ],
)
def test_sql_version_in_force(con, day: str, expected: str | None) -> None:
    assert scalar(con, "SELECT ircc.version_in_force(CAST(? AS DATE))", [day]) == expected
    calendar = con.execute(
        "SELECT version_id FROM ircc.v_version_calendar WHERE day = CAST(? AS DATE)", [day]
    ).fetchall()
    assert calendar == ([(expected,)] if expected else [])  # the calendar starts with the first version


def test_sql_and_python_version_in_force_agree_every_day(con) -> None:
    versions = load_versions()
    rows = con.execute(
        "SELECT CAST(d AS DATE), ircc.version_in_force(CAST(d AS DATE)) "
        "FROM generate_series(DATE '2023-05-01', DATE '2026-12-31', INTERVAL 1 DAY) t(d)"
    ).fetchall()
    assert len(rows) == (dt.date(2026, 12, 31) - dt.date(2023, 5, 1)).days + 1
    for day, sql_version in rows:
        python = version_in_force(day, versions)
        assert sql_version == (python.version_id if python else None), day
    calendar = dict(con.execute("SELECT day, version_id FROM ircc.v_version_calendar").fetchall())
    assert min(calendar) == dt.date(2023, 5, 31) and max(calendar) >= dt.date.today()
    assert all(dict(rows).get(day, version) == version for day, version in calendar.items())


def test_code_counts_per_version(con) -> None:
    sql_counts: dict[str, dict[str, int]] = {}
    for version_id, category_id, codes in con.execute(
        "SELECT c.version_id, c.category_id, count(o.noc_code) FROM ircc.categories c "
        "LEFT JOIN ircc.category_occupations o USING (version_id, category_id) GROUP BY ALL"
    ).fetchall():
        sql_counts.setdefault(version_id, {})[category_id] = codes
    compiled = {v.version_id: {c.id: len(c.nocs) for c in v.categories} for v in load_versions()}
    assert sql_counts == compiled
    assert {k: sql_counts[k] for k in EXPECTED_COUNTS} == EXPECTED_COUNTS
    assert sql_counts["cbs-2026"]["stem"] == 11 and sql_counts["cbs-2023"]["healthcare"] == 35
    noc_counts = dict(
        con.execute("SELECT version_id || '/' || category_id, noc_count FROM ircc.categories").fetchall()
    )
    assert noc_counts["cbs-2026/healthcare_social_services"] == 37


def test_rules_are_columns_with_unknown_explicit(con) -> None:
    row = con.execute(
        "SELECT min_months, window_months, continuous, single_occupation, full_time_hours_per_week, "
        "experience_location, canadian_experience_required, canadian_experience_min_months "
        "FROM ircc.categories WHERE version_id = 'cbs-2026' AND category_id = 'physicians_canadian_experience'"
    ).fetchone()
    assert row == (12, 36, "unknown", True, 30.0, "canada_only", True, 12)
    french = con.execute(
        "SELECT kind, min_months, continuous, language, language_scale, language_min_level, "
        "list_sort(language_abilities), test_validity_months FROM ircc.categories "
        "WHERE version_id = 'cbs-2023' AND category_id = 'french'"
    ).fetchone()
    assert french == (
        "language",
        None,
        None,
        "fr",
        "NCLC",
        7,
        ["listening", "reading", "speaking", "writing"],
        24,
    )
    continuous = dict(
        con.execute(
            "SELECT coalesce(continuous, 'NULL'), count(*) FROM ircc.categories GROUP BY ALL"
        ).fetchall()
    )
    assert set(continuous) <= {"true", "false", "unknown", "NULL"} and continuous["unknown"] == 1
    military = con.execute(
        "SELECT assessable, not_assessable_reason FROM ircc.categories WHERE category_id = 'skilled_military_recruits'"
    ).fetchone()
    assert military[0] is False and "10 years" in military[1]
    # Category-level dates resolved: physicians start inside cbs-2025.
    assert scalar(
        con,
        "SELECT effective_from FROM ircc.categories WHERE version_id = 'cbs-2025' "
        "AND category_id = 'physicians_canadian_experience'",
    ) == dt.date(2025, 12, 8)


def test_citations_and_draw_names(con) -> None:
    cited = con.execute(
        "SELECT DISTINCT c.version_id, unnest(c.citations) AS citation_id FROM ircc.categories c"
    ).fetchall()
    known = set(con.execute("SELECT version_id, citation_id FROM ircc.citations").fetchall())
    assert cited and set(cited) <= known
    kinds = dict(con.execute("SELECT kind, count(*) FROM ircc.draw_names GROUP BY 1").fetchall())
    assert kinds == {"category": 16, "non_category": 6}
    general = con.execute(
        "SELECT category_id, version_ids, round_type FROM ircc.draw_names WHERE draw_name = 'General'"
    ).fetchone()
    assert general == (None, None, "general")


def test_curated_files_recorded_in_meta(con) -> None:
    rows = con.execute(
        "SELECT source_key, file_name, source_url, sha256, rows, tables FROM meta.source_files "
        "WHERE source_key LIKE 'categories:%' ORDER BY 1"
    ).fetchall()
    assert [r[0] for r in rows] == [
        "categories:cbs-2023.yaml",
        "categories:cbs-2024.yaml",
        "categories:cbs-2025.yaml",
        "categories:cbs-2026.yaml",
        "categories:draw_names.yaml",
    ]
    for key, name, url, sha, _rows, tables in rows:
        assert key == f"categories:{name}" and url is None
        assert sha == file_sha256(config.categories_dir() / name)
        if name == "draw_names.yaml":
            assert tables == ["ircc.draw_names"]
        else:
            assert tables == [
                "ircc.category_versions",
                "ircc.citations",
                "ircc.categories",
                "ircc.category_occupations",
            ]
    assert rows[-1][4] == 22 and rows[3][4] == 10
    rounds = con.execute(
        "SELECT file_name, rows, tables, source_url FROM meta.source_files WHERE source_key = 'ircc_rounds'"
    ).fetchone()
    assert rounds[:3] == (ROUNDS_FILE, 438, ["ircc.rounds"])
    assert rounds[3].endswith("/content/dam/ircc/documents/json/ee_rounds_123_en.json")


# ---------------------------------------------------------------- rounds


def test_rounds_loaded_with_integer_counts(con) -> None:
    assert scalar(con, "SELECT count(*) FROM ircc.rounds") == 438
    assert scalar(con, "SELECT sum(invitations) FROM ircc.rounds") == 1_037_113
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'ircc' AND table_name = 'rounds'"
        ).fetchall()
    )
    assert types["invitations"] == types["crs_cutoff"] == types["round_sort_key"] == "INTEGER"
    assert types["round_number"] == "VARCHAR" and types["round_date"] == "DATE"
    split = con.execute(
        "SELECT round_number, round_name, round_type FROM ircc.rounds "
        "WHERE round_number IN ('91a', '91b') ORDER BY round_sort_key"
    ).fetchall()
    assert split == [
        ("91a", "Federal Skilled Trades", "program-specific"),
        ("91b", "Provincial Nominee Program", "program-specific"),
    ]
    types_count = dict(con.execute("SELECT round_type, count(*) FROM ircc.rounds GROUP BY 1").fetchall())
    assert types_count == {"general": 178, "program-specific": 186, "category-based": 74}
    newest = con.execute(
        "SELECT round_number, round_date, invitations, crs_cutoff, category_id, version_id "
        "FROM ircc.rounds ORDER BY round_sort_key DESC LIMIT 1"
    ).fetchone()
    assert newest == ("437", dt.date(2026, 8, 19), 5000, 382, "french", "cbs-2026")


def test_every_category_round_is_mapped(con) -> None:
    unmapped = con.execute(
        "SELECT round_number, round_name FROM ircc.rounds r "
        "WHERE (round_type = 'category-based' OR round_name IN "
        "       (SELECT draw_name FROM ircc.draw_names WHERE kind = 'category') "
        "       OR regexp_matches(round_name, '(?i)version|occupation|proficiency')) "
        "  AND (category_id IS NULL OR version_id IS NULL "
        "       OR NOT EXISTS (SELECT 1 FROM ircc.categories c "
        "                      WHERE c.version_id = r.version_id AND c.category_id = r.category_id))"
    ).fetchall()
    assert unmapped == []
    assert scalar(con, "SELECT count(*) FROM ircc.rounds WHERE category_id IS NOT NULL") == 74
    assert (
        scalar(
            con,
            "SELECT count(*) FROM ircc.rounds WHERE round_type <> 'category-based' AND category_id IS NOT NULL",
        )
        == 0
    )
    french = [
        n
        for (n,) in con.execute(
            "SELECT count(*) FROM ircc.rounds WHERE category_id = 'french' GROUP BY version_id ORDER BY version_id"
        ).fetchall()
    ]
    assert french == [6, 12, 8, 10]
    # The 2026 French label was used on 2026-02-06, before cbs-2026 began: mapped to cbs-2026.
    assert (
        scalar(con, "SELECT version_id FROM ircc.rounds WHERE round_date = DATE '2026-02-06'") == "cbs-2026"
    )


def test_category_round_views(con) -> None:
    french = con.execute(
        "SELECT rounds, invitations, min_crs_cutoff, median_crs_cutoff, latest_crs_cutoff, "
        "first_round_date, last_round_date FROM ircc.v_category_rounds WHERE category_id = 'french'"
    ).fetchone()
    assert french[0] >= 26 and french[1] > 0
    assert french[2] <= french[3] and french[4] == 382
    assert (french[5], french[6]) == (dt.date(2023, 7, 7), dt.date(2026, 8, 19))
    per_category = dict(con.execute("SELECT category_id, rounds FROM ircc.v_category_rounds").fetchall())
    assert per_category["researchers_canadian_experience"] == 0  # listed, never drawn
    assert sum(per_category.values()) == 74
    per_version = con.execute(
        "SELECT version_id, rounds FROM ircc.v_category_version_rounds WHERE category_id = 'french' ORDER BY 1"
    ).fetchall()
    assert per_version == [("cbs-2023", 6), ("cbs-2024", 12), ("cbs-2025", 8), ("cbs-2026", 10)]
    total = scalar(con, "SELECT sum(invitations) FROM ircc.v_category_version_rounds")
    assert total == scalar(con, "SELECT sum(invitations) FROM ircc.rounds WHERE category_id IS NOT NULL")


def test_categories_in_force(con) -> None:
    today = con.execute(
        "SELECT version_id, category_id, kind, noc_code, noc_title FROM ircc.v_categories_in_force"
    ).fetchall()
    assert len(today) > 0
    python = version_in_force(dt.date.today())
    assert python is not None and {r[0] for r in today} == {python.version_id}
    # One row per category x code; a category without codes (French) has one row with NULL code.
    expected = sum(max(len(c.nocs), 1) for c in python.categories_on(dt.date.today()))
    assert len(today) == expected
    assert [r[3] for r in today if r[1] == "french"] == [None]
    assert all(r[4] for r in today if r[3] is not None)
    on_day = con.execute(
        "SELECT category_id, count(noc_code) FROM ircc.categories_on(DATE '2025-12-07') GROUP BY 1"
    ).fetchall()
    assert "physicians_canadian_experience" not in dict(on_day)
    after = dict(
        con.execute(
            "SELECT category_id, count(noc_code) FROM ircc.categories_on(DATE '2025-12-08') GROUP BY 1"
        ).fetchall()
    )
    assert after["physicians_canadian_experience"] == 3 and after["trades"] == 25
    assert con.execute("SELECT * FROM ircc.categories_on(DATE '2020-01-01')").fetchall() == []


# ---------------------------------------------------------------- failures through the CLI


def replace_once(old: bytes, new: bytes) -> Callable[[Path], None]:
    def change(path: Path) -> None:
        data = path.read_bytes()
        assert old in data
        path.write_bytes(data.replace(old, new, 1))

    return change


def drop_newest_round(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["rounds"] = data["rounds"][1:]
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")


ROUND_CASES: list[tuple[str, Callable[[Path], None], list[str]]] = [
    (
        "malformed",
        replace_once(b'"drawSize":"5,000"', b'"drawSize":"5 000"'),
        [ROUNDS_FILE, "line 4", "round 437", "drawSize (invitations) '5 000' is not a whole number"],
    ),
    ("not_json", lambda p: p.write_bytes(p.read_bytes()[:-200]), [ROUNDS_FILE, "not valid JSON"]),
    (
        "unknown_category_name",
        replace_once(NEWEST_NAME, b'"drawName":"Plumbing occupations, 2027-Version 1"'),
        [
            "UnmappedDrawName",
            ROUNDS_FILE,
            "round 437",
            "'Plumbing occupations, 2027-Version 1'",
            "draw_names.yaml",
        ],
    ),
    ("round_lost", drop_newest_round, ["all_rounds_loaded", "437 rounds", "fewer than 438 rounds"]),
]


@pytest.mark.parametrize(("case", "corrupt", "expected"), ROUND_CASES, ids=[c[0] for c in ROUND_CASES])
def test_bad_rounds_file_fails_and_keeps_the_warehouse(
    case: str,
    corrupt: Callable[[Path], None],
    expected: list[str],
    private_warehouse: Path,
    writable_sources: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = file_sha256(private_warehouse)
    corrupt(writable_sources / ROUNDS)
    capsys.readouterr()
    assert main(["refresh"]) == 1

    err = capsys.readouterr().err
    for fragment in expected:
        assert fragment in err, err
    assert "left unchanged" in err
    assert file_sha256(private_warehouse) == before
    with duckdb.connect(str(private_warehouse), read_only=True) as con:
        assert scalar(con, "SELECT count(*) FROM ircc.rounds") == 438
        assert scalar(con, "SELECT max(round_date) FROM ircc.rounds") == dt.date(2026, 8, 19)
    staging = private_warehouse.parent / f".{private_warehouse.name}.staging"
    assert not staging.exists() or not any(staging.iterdir())


@pytest.fixture
def categories_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of data/categories, used through NOCFIT_CATEGORIES."""
    target = tmp_path / "categories"
    shutil.copytree(config.categories_dir(), target)
    monkeypatch.setenv("NOCFIT_CATEGORIES", str(target))
    return target


def test_unknown_noc_code_in_category_file_is_rejected(
    private_warehouse: Path, categories_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = file_sha256(private_warehouse)
    replace_once(b"{code: '43204'", b"{code: '43299'")(categories_copy / "cbs-2026.yaml")
    capsys.readouterr()
    assert main(["refresh"]) == 1
    captured = capsys.readouterr()
    for fragment in [
        "CategoryDataError",
        "cbs-2026.yaml",
        "skilled_military_recruits",
        "43299",
        "not a NOC 2021",
    ]:
        assert fragment in captured.err, captured.err
    assert "ircc/category_tables" in captured.out and "FAILED" in captured.out
    assert file_sha256(private_warehouse) == before


def test_curated_change_remaps_rounds(
    private_warehouse: Path, categories_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Dropping cbs-2025 from a draw name re-maps its rounds, with no change to the rounds file."""
    replace_once(
        b"- draw_name: French language proficiency (Version 1)\n    category_id: french\n"
        b"    version_ids: [cbs-2023, cbs-2024, cbs-2025]",
        b"- draw_name: French language proficiency (Version 1)\n    category_id: french\n"
        b"    version_ids: [cbs-2023, cbs-2024]",
    )(categories_copy / "draw_names.yaml")
    capsys.readouterr()
    assert main(["refresh"]) == 0
    out = capsys.readouterr().out
    assert "noc/structure" in out and "unchanged" in out
    with duckdb.connect(str(private_warehouse), read_only=True) as con:
        french = dict(
            con.execute(
                "SELECT version_id, count(*) FROM ircc.rounds WHERE category_id = 'french' GROUP BY 1"
            ).fetchall()
        )
        # The 8 rounds of 2025 now take the nearest listed version.
        assert french == {"cbs-2023": 6, "cbs-2024": 20, "cbs-2026": 10}
        versions = scalar(
            con,
            "SELECT version_ids FROM ircc.draw_names WHERE draw_name = 'French language proficiency (Version 1)'",
        )
        assert versions == ["cbs-2023", "cbs-2024"]
        changes = scalar(
            con, "SELECT count(*) FROM meta.source_changes WHERE source_key = 'categories:draw_names.yaml'"
        )
        assert changes == 2  # first load, then this edit
