"""Build the ``noc.*`` warehouse tables from the official files (plain Python, no Dagster)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from nocfit.ingest import noc
from nocfit.ingest.load import LoadResult, load_table, rebuild_table
from nocfit.sources.catalog import spec
from nocfit.sources.fetch import SourceFolder


def unit_group_codes(con: duckdb.DuckDBPyConnection) -> set[str]:
    codes = {row[0] for row in con.execute("SELECT code FROM noc.structure WHERE level = 5").fetchall()}
    if not codes:
        raise RuntimeError("noc.structure is empty: load the NOC structure first")
    return codes


def unit_group_titles(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    titles = dict(con.execute("SELECT code, title FROM noc.unit_groups").fetchall())
    if not titles:
        raise RuntimeError("noc.unit_groups is empty: load the NOC tables first")
    return titles


def profile_codes(con: duckdb.DuckDBPyConnection) -> set[str]:
    codes = {row[0] for row in con.execute("SELECT profile_code FROM noc.profiles").fetchall()}
    if not codes:
        raise RuntimeError("noc.profiles is empty: load the OaSIS labels first")
    return codes


def load_structure(
    con: duckdb.DuckDBPyConnection, folder: SourceFolder, *, force: bool = False
) -> LoadResult:
    fetched = folder.fetch(spec("noc_structure"))
    return load_table(
        con,
        "noc.structure",
        [fetched],
        lambda: {"noc_structure": noc.parse_structure(fetched.path)},
        force=force,
    )


UNIT_GROUPS_SQL = """
SELECT u.code, u.title, u.definition,
       CAST(substr(u.code, 2, 1) AS INTEGER) AS teer,
       b.code AS broad_category_code, b.title AS broad_category_title,
       m.code AS major_group_code, m.title AS major_group_title,
       s.code AS sub_major_group_code, s.title AS sub_major_group_title,
       n.code AS minor_group_code, n.title AS minor_group_title
FROM noc.structure u
JOIN noc.structure b ON b.code = substr(u.code, 1, 1)
JOIN noc.structure m ON m.code = substr(u.code, 1, 2)
JOIN noc.structure s ON s.code = substr(u.code, 1, 3)
JOIN noc.structure n ON n.code = substr(u.code, 1, 4)
WHERE u.level = 5
ORDER BY u.code
"""


def build_unit_groups(con: duckdb.DuckDBPyConnection, *, force: bool = False) -> LoadResult:
    return rebuild_table(con, "noc.unit_groups", UNIT_GROUPS_SQL, built_from=["noc_structure"], force=force)


def load_profiles(con: duckdb.DuckDBPyConnection, folder: SourceFolder, *, force: bool = False) -> LoadResult:
    fetched = folder.fetch(spec("oasis_labels"))
    codes = unit_group_codes(con)
    return load_table(
        con,
        "noc.profiles",
        [fetched],
        lambda: {"oasis_labels": noc.parse_profiles(fetched.path, codes)},
        validated_against=["noc_structure"],
        force=force,
    )


def _add_class_titles_and_labels(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT INTO noc.titles (code, title, title_type) "
        "SELECT code, title, 'class_title' FROM noc.unit_groups"
    )
    con.execute(
        "INSERT INTO noc.titles (code, title, title_type, profile_code) "
        "SELECT code, label, 'profile_label', profile_code FROM noc.profiles"
    )


def load_titles(con: duckdb.DuckDBPyConnection, folder: SourceFolder, *, force: bool = False) -> LoadResult:
    fetched = folder.fetch(spec("oasis_titles"))
    codes = unit_group_codes(con)
    profiles = profile_codes(con)
    return load_table(
        con,
        "noc.titles",
        [fetched],
        lambda: {"oasis_titles": noc.parse_titles(fetched.path, codes, profiles)},
        validated_against=["noc_structure", "oasis_labels"],
        after_insert=_add_class_titles_and_labels,
        force=force,
    )


@dataclass(frozen=True)
class ProfileTextTable:
    """An OaSIS file with one statement per row, loaded as (code, profile_code, seq, <column>)."""

    table: str
    source_key: str
    source_column: str
    column: str


PROFILE_TEXT_TABLES = (
    ProfileTextTable("noc.main_duties", "oasis_main_duties", "Main duties", "duty"),
    ProfileTextTable("noc.lead_statements", "oasis_lead_statements", "Lead statement", "statement"),
    ProfileTextTable(
        "noc.employment_requirements",
        "oasis_employment_requirements",
        "Employment requirement",
        "requirement",
    ),
    ProfileTextTable(
        "noc.additional_information",
        "oasis_additional_information",
        "Additional information (EN)",
        "information",
    ),
)


def load_profile_text(
    con: duckdb.DuckDBPyConnection, folder: SourceFolder, which: ProfileTextTable, *, force: bool = False
) -> LoadResult:
    fetched = folder.fetch(spec(which.source_key))
    codes = unit_group_codes(con)
    profiles = profile_codes(con)

    def parse():
        rows = noc.parse_profile_texts(fetched.path, which.source_column, codes, profiles)
        for row in rows:
            row[which.column] = row.pop("text")
        return {which.source_key: rows}

    return load_table(
        con, which.table, [fetched], parse, validated_against=["noc_structure", "oasis_labels"], force=force
    )


def load_workplaces(
    con: duckdb.DuckDBPyConnection, folder: SourceFolder, *, force: bool = False
) -> LoadResult:
    fetched = folder.fetch(spec("oasis_workplaces"))
    codes = unit_group_codes(con)
    profiles = profile_codes(con)
    return load_table(
        con,
        "noc.workplaces",
        [fetched],
        lambda: {"oasis_workplaces": noc.parse_workplaces(fetched.path, codes, profiles)},
        validated_against=["noc_structure", "oasis_labels"],
        force=force,
    )


def _label_exclusions(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "UPDATE noc.exclusions SET excluded_label = p.label FROM noc.profiles p "
        "WHERE p.profile_code = noc.exclusions.excluded_profile_code"
    )
    con.execute(
        "UPDATE noc.exclusions SET excluded_label = u.title FROM noc.unit_groups u "
        "WHERE noc.exclusions.excluded_label IS NULL AND u.code = noc.exclusions.excluded_code"
    )


def load_exclusions(
    con: duckdb.DuckDBPyConnection, folder: SourceFolder, *, force: bool = False
) -> LoadResult:
    fetched = folder.fetch(spec("oasis_exclusions"))
    codes = unit_group_codes(con)
    profiles = profile_codes(con)
    return load_table(
        con,
        "noc.exclusions",
        [fetched],
        lambda: {"oasis_exclusions": noc.parse_exclusions(fetched.path, codes, profiles)},
        validated_against=["noc_structure", "oasis_labels"],
        after_insert=_label_exclusions,
        force=force,
    )


def load_concordance(
    con: duckdb.DuckDBPyConnection, folder: SourceFolder, *, force: bool = False
) -> LoadResult:
    fetched = folder.fetch(spec("noc_concordance"))
    codes = unit_group_codes(con)
    return load_table(
        con,
        "noc.concordance_2016_2021",
        [fetched],
        lambda: {"noc_concordance": noc.parse_concordance(fetched.path, codes)},
        validated_against=["noc_structure"],
        force=force,
    )


def load_all_examples(
    con: duckdb.DuckDBPyConnection, folder: SourceFolder, *, force: bool = False
) -> LoadResult:
    """The 'All examples' index from whichever optional files are present (may be none)."""
    codes = unit_group_codes(con)
    parsers = {
        "noc_elements": noc.parse_elements_all_examples,
        "noc_examples_bilingual": noc.parse_bilingual_examples,
    }
    present = [f for f in (folder.fetch_optional(spec(key)) for key in parsers) if f is not None]
    return load_table(
        con,
        "noc.all_examples",
        present,
        lambda: {f.spec.key: parsers[f.spec.key](f.path, codes) for f in present},
        validated_against=["noc_structure"],
        force=force,
    )
