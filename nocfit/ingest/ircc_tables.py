"""Build the ``ircc.*`` warehouse tables (plain Python, no Dagster).

The category tables come from the curated files in ``config.categories_dir()``, checked against
the NOC unit groups already in the warehouse, and are written together in one transaction.
``ircc.rounds`` comes from the IRCC rounds JSON; every round name is mapped to its round type
and, for category rounds, to its category and version. A name the draw-name map does not know
fails the load (nothing is written): a round is never dropped or left unmapped.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from nocfit import config
from nocfit.categories.load import (
    DRAW_NAMES_FILE,
    UnmappedDrawName,
    category_for_draw,
    check_against_noc,
    check_draw_names,
    load_draw_names,
    load_versions,
)
from nocfit.categories.model import Category, CategoryVersion, DrawNameMap
from nocfit.ingest.load import LoadResult, Rows, fingerprint, load_table, record_source, source_sha256
from nocfit.ingest.noc_tables import unit_group_titles
from nocfit.ingest.rounds import parse_rounds, round_type
from nocfit.sources.catalog import SourceSpec, spec
from nocfit.sources.fetch import FetchedSource, SourceFolder
from warehouse.tables import get_fingerprint, insert_rows, row_count, set_fingerprint, transaction

#: Bump when category rows are built differently, so unchanged files are reloaded.
CATEGORY_LOADER_VERSION = "1"
CATEGORY_TABLES = (
    "ircc.category_versions",
    "ircc.citations",
    "ircc.categories",
    "ircc.category_occupations",
    "ircc.draw_names",
)
VERSION_TABLES = CATEGORY_TABLES[:4]  # the tables a cbs-*.yaml file feeds
ROUNDS_TABLE = "ircc.rounds"
#: meta.source_files key prefix of the curated files: ``categories:cbs-2026.yaml``.
CURATED_PREFIX = "categories:"


# ------------------------------------------------------------------------------ curated files
def curated_sources(folder: Path | None = None) -> list[FetchedSource]:
    """The curated category files (``cbs-*.yaml`` and ``draw_names.yaml``) as sources."""
    folder = folder or config.categories_dir()
    paths = [*sorted(folder.glob(CategoryVersion.FILE_GLOB)), folder / DRAW_NAMES_FILE]
    return [
        FetchedSource(
            SourceSpec(
                key=CURATED_PREFIX + path.name,
                relpath=f"categories/{path.name}",
                description="nocfit curated Express Entry category data",
                licence="nocfit project data",
            ),
            path,
            url=None,
            downloaded=False,
        )
        for path in paths
        if path.is_file()
    ]


def read_categories(
    folder: Path, unit_groups: dict[str, str] | None = None
) -> tuple[list[CategoryVersion], DrawNameMap]:
    """Validated versions and draw-name map; raises CategoryDataError naming file and problem."""
    versions = load_versions(folder)
    if unit_groups is not None:
        check_against_noc(versions, unit_groups)
    draw_map = load_draw_names(folder)
    check_draw_names(draw_map, versions)
    return versions, draw_map


# ------------------------------------------------------------------------------ category rows
def _continuous(value: bool | str | None) -> str | None:
    """True/False/'unknown'/None -> 'true'/'false'/'unknown'/NULL (unknown stays explicit)."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value).lower()


def version_row(version: CategoryVersion, file_sha256: str) -> dict[str, object]:
    return {
        "version_id": version.version_id,
        "label": version.label,
        "effective_from": version.effective_from,
        "effective_to": version.effective_to,
        "effective_from_basis": version.effective_from_basis,
        "effective_to_basis": version.effective_to_basis,
        "noc_version": version.noc_version,
        "common_requirement": version.common_requirement,
        "category_count": len(version.categories),
        "notes": list(version.notes),
        "file_name": version.file_name,
        "file_sha256": file_sha256,
        "definition": version.model_dump_json(),
    }


def citation_rows(version: CategoryVersion) -> Rows:
    return [
        {
            "version_id": version.version_id,
            "citation_id": c.id,
            "type": c.type,
            "title": c.title,
            "publisher": c.publisher,
            "url": c.url,
            "date": c.date,
            "supports": c.supports,
            "caveat": c.caveat,
        }
        for c in version.citations
    ]


def category_row(version: CategoryVersion, category: Category) -> dict[str, object]:
    rules, language = category.rules, category.rules.language
    return {
        "version_id": version.version_id,
        "category_id": category.id,
        "name": category.name,
        "kind": category.kind,
        # Resolved here so SQL needs no fallback to the version's dates.
        "effective_from": category.effective_from or version.effective_from,
        "effective_to": category.effective_to or version.effective_to,
        "min_months": rules.min_months,
        "window_months": rules.window_months,
        "continuous": _continuous(rules.continuous),
        "single_occupation": rules.single_occupation,
        "full_time_hours_per_week": rules.full_time_hours_per_week,
        "experience_location": rules.experience_location,
        "canadian_experience_required": rules.canadian_experience_required,
        "canadian_experience_min_months": rules.canadian_experience_min_months,
        "language": language.language if language else None,
        "language_scale": language.scale if language else None,
        "language_min_level": language.min_level if language else None,
        "language_abilities": list(language.abilities) if language else None,
        "test_validity_months": language.test_validity_months if language else None,
        "assessable": rules.assessable,
        "not_assessable_reason": rules.not_assessable_reason,
        "other_requirements": list(rules.other_requirements),
        "rules_confidence": category.rules_confidence,
        "confidence": category.confidence,
        "citations": list(category.citations),
        "notes": list(category.notes),
        "noc_count": len(category.nocs),
    }


def occupation_rows(version: CategoryVersion) -> Rows:
    return [
        {
            "version_id": version.version_id,
            "category_id": category.id,
            "noc_code": noc.code,
            "title": noc.title,
            "confidence": noc.confidence,
        }
        for category in version.categories
        for noc in category.nocs
    ]


def draw_name_rows(draw_map: DrawNameMap) -> Rows:
    category = [
        {
            "draw_name": d.draw_name,
            "kind": "category",
            "round_type": round_type(d.draw_name, draw_map),
            "category_id": d.category_id,
            "version_ids": list(d.version_ids),
        }
        for d in draw_map.category_draws
    ]
    other = [
        {
            "draw_name": name,
            "kind": "non_category",
            "round_type": round_type(name, draw_map),
            "category_id": None,
            "version_ids": None,
        }
        for name in draw_map.non_category_draws
    ]
    return category + other


# ------------------------------------------------------------------------------ category load
def load_categories(
    con: duckdb.DuckDBPyConnection, *, folder: Path | None = None, force: bool = False
) -> list[LoadResult]:
    """Replace the five category tables from the curated files, unless nothing changed.

    The fingerprint covers every curated file and the NOC structure the codes are checked
    against. Each file is recorded in meta.source_files (rows = its categories, or draw names
    for draw_names.yaml). Returns one LoadResult per table of CATEGORY_TABLES, in that order.
    """
    folder = folder or config.categories_dir()
    sources = curated_sources(folder)
    hashes = {s.spec.key: s.sha256() for s in sources}
    built_from = fingerprint(
        CATEGORY_TABLES,
        hashes,
        {"noc_structure": source_sha256(con, "noc_structure")},
        version=CATEGORY_LOADER_VERSION,
    )
    if not force and all(get_fingerprint(con, t) == built_from for t in CATEGORY_TABLES):
        return [LoadResult(t, row_count(con, t), changed=False, sources=hashes) for t in CATEGORY_TABLES]

    # Everything is read and validated before the first write.
    versions, draw_map = read_categories(folder, unit_group_titles(con))
    by_key = {s.spec.key: s for s in sources}
    rows: dict[str, Rows] = {t: [] for t in CATEGORY_TABLES}
    for version in versions:
        key = CURATED_PREFIX + version.file_name
        rows["ircc.category_versions"].append(version_row(version, hashes[key]))
        rows["ircc.citations"] += citation_rows(version)
        rows["ircc.categories"] += [category_row(version, c) for c in version.categories]
        rows["ircc.category_occupations"] += occupation_rows(version)
    rows["ircc.draw_names"] = draw_name_rows(draw_map)

    with transaction(con):
        for table in CATEGORY_TABLES:
            con.execute(f"DELETE FROM {table}")
            insert_rows(con, table, rows[table])
            set_fingerprint(con, table, built_from)
        # Files no longer in the folder are no longer loaded.
        con.execute(
            "DELETE FROM meta.source_files WHERE starts_with(source_key, ?) AND NOT list_contains(?, source_key)",
            [CURATED_PREFIX, list(hashes)],
        )
        for version in versions:
            key = CURATED_PREFIX + version.file_name
            record_source(con, by_key[key], hashes[key], len(version.categories), VERSION_TABLES)
        draw_key = CURATED_PREFIX + DRAW_NAMES_FILE
        record_source(
            con, by_key[draw_key], hashes[draw_key], len(rows["ircc.draw_names"]), ["ircc.draw_names"]
        )
        counts = {t: row_count(con, t) for t in CATEGORY_TABLES}
    return [LoadResult(t, counts[t], changed=True, sources=hashes) for t in CATEGORY_TABLES]


# ------------------------------------------------------------------------------ rounds
def map_rounds(rows: Rows, draw_map: DrawNameMap, versions: list[CategoryVersion], file: str) -> Rows:
    """Add round_type, category_id and version_id to every parsed round (in place).

    Raises UnmappedDrawName naming the file, the round and the name for any name that
    ``draw_names.yaml`` does not list.
    """
    for row in rows:
        name, day = str(row["round_name"]), row["round_date"]
        assert isinstance(day, dt.date)
        try:
            row["category_id"], row["version_id"] = category_for_draw(name, day, draw_map, versions)
            row["round_type"] = round_type(name, draw_map)
        except UnmappedDrawName as exc:
            raise UnmappedDrawName(f"{file}: round {row['round_number']}: {exc}") from None
    return rows


def load_rounds(
    con: duckdb.DuckDBPyConnection,
    folder: SourceFolder,
    *,
    force: bool = False,
    categories: Path | None = None,
) -> LoadResult:
    """Replace ``ircc.rounds`` from the rounds JSON (re-downloaded into a refreshing cache folder).

    The curated files are among the sources the table is built from, so editing the draw-name
    map or a version re-maps the rounds; only the JSON is recorded in meta.source_files.
    """
    fetched = folder.fetch(spec("ircc_rounds"))
    categories = categories or config.categories_dir()

    def parse() -> dict[str, Rows]:
        parsed = parse_rounds(fetched.path)
        versions, draw_map = read_categories(categories)
        return {"ircc_rounds": map_rounds(parsed, draw_map, versions, fetched.spec.name)}

    return load_table(con, ROUNDS_TABLE, [fetched, *curated_sources(categories)], parse, force=force)
