"""`nocfit refresh` from ../shared/data: the warehouse holds the official data, idempotently."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from nocfit.cli import main
from nocfit.sources.fetch import file_sha256
from tests.conftest import PROJECT_ROOT, private_installation


@pytest.fixture
def con(refreshed: dict[str, str]):
    with duckdb.connect(refreshed["NOCFIT_WAREHOUSE"], read_only=True) as connection:
        yield connection


def scalar(con, sql: str):
    return con.execute(sql).fetchone()[0]


def test_table_counts(con) -> None:
    assert scalar(con, "SELECT count(*) FROM noc.structure") == 822
    assert scalar(con, "SELECT count(*) FROM noc.unit_groups") == 516
    assert scalar(con, "SELECT count(*) FROM noc.titles") >= 18_000
    assert scalar(con, "SELECT count(*) FROM noc.main_duties") >= 4_900
    assert scalar(con, "SELECT count(*) FROM noc.concordance_2016_2021") == 585
    levels = dict(con.execute("SELECT level, count(*) FROM noc.structure GROUP BY 1").fetchall())
    assert levels == {1: 10, 2: 45, 3: 89, 4: 162, 5: 516}


def test_codes_are_text_with_leading_zeros(con) -> None:
    assert scalar(con, "SELECT title FROM noc.unit_groups WHERE code = '00010'") == "Legislators"
    assert scalar(con, "SELECT count(*) FROM noc.structure WHERE code = '0'") == 1
    assert (
        scalar(con, "SELECT count(*) FROM noc.unit_groups WHERE NOT regexp_full_match(code, '[0-9]{5}')") == 0
    )
    teer = dict(con.execute("SELECT teer, count(*) FROM noc.unit_groups GROUP BY 1").fetchall())
    assert teer == {0: 48, 1: 97, 2: 162, 3: 69, 4: 95, 5: 45}
    row = con.execute(
        "SELECT broad_category_code, major_group_code, sub_major_group_code, minor_group_code, minor_group_title "
        "FROM noc.unit_groups WHERE code = '21231'"
    ).fetchone()
    assert row[:4] == ("2", "21", "212", "2123")


def test_titles_include_oasis_types_and_class_titles(con) -> None:
    kinds = dict(con.execute("SELECT title_type, count(*) FROM noc.titles GROUP BY 1").fetchall())
    assert kinds == {
        "index": 14235,
        "example": 4279,
        "inclusion": 152,
        "class_title": 516,
        "profile_label": 900,
    }
    assert scalar(con, "SELECT count(*) FROM noc.titles WHERE title <> trim(title) OR title = ''") == 0
    assert scalar(con, "SELECT code FROM noc.titles WHERE title = 'Member of Parliament (MP)'") == "00010"


def test_main_duties_profile_codes_are_restored(con) -> None:
    # The source writes 10010.00 as "10010" and 31100.10 as "31100.1".
    assert (
        scalar(
            con,
            "SELECT count(*) FROM noc.main_duties WHERE NOT regexp_full_match(profile_code, '[0-9]{5}\\.[0-9]{2}')",
        )
        == 0
    )
    assert scalar(con, "SELECT count(*) FROM noc.main_duties WHERE profile_code = '31100.10'") == 1
    assert (
        scalar(
            con,
            "SELECT count(*) FROM noc.main_duties WHERE profile_code NOT IN (SELECT profile_code FROM noc.profiles)",
        )
        == 0
    )


def test_exclusions_point_to_real_codes(con) -> None:
    assert scalar(con, "SELECT count(*) FROM noc.exclusions") == 3074
    row = con.execute(
        "SELECT excluded_code, excluded_label FROM noc.exclusions WHERE title = 'commissioner - government services'"
    ).fetchone()
    assert row == ("00011", "Senior government managers and officials")
    assert scalar(con, "SELECT count(*) FROM noc.exclusions WHERE excluded_label IS NULL") == 0


def test_concordance_is_normalised(con) -> None:
    assert scalar(con, "SELECT count(DISTINCT noc2021_code) FROM noc.concordance_2016_2021") == 516
    assert scalar(con, "SELECT count(DISTINCT noc2016_code) FROM noc.concordance_2016_2021") == 500
    assert (
        scalar(con, "SELECT noc2021_code FROM noc.concordance_2016_2021 WHERE noc2016_code = '0011'")
        == "00010"
    )
    transfers = scalar(
        con, "SELECT count(*) FROM noc.concordance_2016_2021 WHERE list_contains(change_codes, 'RC5')"
    )
    assert transfers == 72 + 6 + 4 + 2 + 3 + 1  # every spelling of a transfer, irregular ones included
    assert scalar(con, "SELECT count(*) FROM noc.concordance_2016_2021 WHERE noc2021_code = '85121'") >= 1


def test_source_files_are_recorded(con, shared_data: Path) -> None:
    # Official files only: the curated categories:*.yaml rows are checked in test_ircc_pipeline.py.
    rows = con.execute(
        "SELECT file_name, sha256, bytes, rows, source_url FROM meta.source_files "
        "WHERE NOT starts_with(source_key, 'categories:')"
    ).fetchall()
    by_name = {r[0]: r for r in rows}
    structure = by_name["noc-2021-v1.0-classification-structure.csv"]
    assert structure[1] == "9d97fb39b9fceaeef3a10fe1ec719ad58f2af15810f80e004422dce3dd62bad6"
    assert structure[2] == 393_951 and structure[3] == 822
    assert structure[4].startswith("https://www.statcan.gc.ca/")
    assert by_name["example-titles_oasis_2023_v1.0.csv"][3] == 18_666
    assert "open.canada.ca" in by_name["main-duties_oasis-2023_v1.0.csv"][4]
    for name, sha, *_ in rows:
        matches = list(shared_data.rglob(name))
        assert matches and file_sha256(matches[0]) == sha


def test_second_refresh_is_idempotent(refreshed: dict[str, str], tmp_path: Path, monkeypatch, capsys) -> None:
    # A private copy: other pytest-xdist workers read the session's installation meanwhile.
    env = private_installation(refreshed, tmp_path, Path(refreshed["NOCFIT_SOURCES"]))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    warehouse = Path(env["NOCFIT_WAREHOUSE"])
    before = file_sha256(warehouse)
    assert main(["refresh", "--download"]) == 0
    out = capsys.readouterr().out
    assert "unchanged" in out and "noc.unit_groups" in out
    assert file_sha256(warehouse) == before  # nothing changed, nothing republished
    # NOCFIT_SOURCES names the user's folder, which --download leaves alone: said, not silent.
    assert "note: --download re-downloads only into nocfit's own cache" in out


def test_definitions_validate_with_dagster_tooling(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "pipelines.definitions"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DAGSTER_HOME": str(tmp_path), "HOME": str(tmp_path)},
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_error_lines_name_nocfits_own_message_over_the_librarys_cause() -> None:
    from dagster._utils.error import SerializableErrorInfo

    from nocfit.runner import RunReport, _root_cause

    http = SerializableErrorInfo("urllib.error.HTTPError: HTTP Error 404: Not Found\n", [], "HTTPError")
    ours = SerializableErrorInfo(
        "nocfit.sources.fetch.SourceError: https://x/ee_rounds_123_en.json answered HTTP 404 Not Found\n",
        [],
        "SourceError",
        cause=http,
    )
    step = SerializableErrorInfo(
        "dagster._core.errors.DagsterExecutionStepExecutionError: step\n", [], "E", cause=ours
    )
    assert _root_cause(step) == "SourceError: https://x/ee_rounds_123_en.json answered HTTP 404 Not Found"
    assert _root_cause(http) == "HTTPError: HTTP Error 404: Not Found"  # nothing of ours: the innermost
    stopped = RunReport("r", False, 1.0, ["ircc/rounds FAILED: DagsterExecutionInterruptedError"])
    assert stopped.interrupted and not RunReport("r", False, 1.0, ["x FAILED: ValueError: no"]).interrupted


def test_an_optional_file_that_went_away_leaves_the_records(cloned: dict[str, str], tmp_path: Path) -> None:
    """The bilingual index removed from the sources: its rows and its meta.source_files row go,
    and meta.source_changes records the removal (it used to stay listed as loaded)."""
    import duckdb

    from nocfit.ingest.noc_tables import load_all_examples
    from nocfit.sources.fetch import SourceFolder

    empty = SourceFolder(tmp_path / "no-optional-files", download=False)
    with duckdb.connect(cloned["NOCFIT_WAREHOUSE"]) as con:
        before = con.execute(
            "SELECT rows FROM meta.source_files WHERE source_key = 'noc_examples_bilingual'"
        ).fetchone()
        assert before and before[0] > 0
        result = load_all_examples(con, empty)
        assert result.changed and result.rows == 0
        assert not con.execute(
            "SELECT * FROM meta.source_files WHERE source_key = 'noc_examples_bilingual'"
        ).fetchall()
        assert con.execute(
            "SELECT new_sha256, rows_before, rows_after FROM meta.source_changes "
            "WHERE source_key = 'noc_examples_bilingual' ORDER BY changed_at DESC LIMIT 1"
        ).fetchone() == ("", before[0], 0)
