"""Curated category files: schema, facts, NOC codes against the official structure, draw names."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from pathlib import Path

import pytest

from nocfit import config
from nocfit.categories.load import (
    CategoryDataError,
    UnmappedDrawName,
    categories_in_force,
    category_for_draw,
    check_against_noc,
    check_draw_names,
    check_no_overlap,
    load_draw_names,
    load_versions,
    version_in_force,
)
from nocfit.categories.model import CategoryVersion, DrawNameMap
from nocfit.ingest.noc import parse_structure
from nocfit.ingest.rounds import parse_rounds

CATEGORIES = config.categories_dir()
STRUCTURE = "noc2021/noc-2021-v1.0-classification-structure.csv"
ROUNDS = "ircc/ee_rounds_123_en.json"

EXPECTED_COUNTS = {
    "cbs-2023": {"french": 0, "healthcare": 35, "stem": 24, "trades": 10, "transport": 10, "agriculture": 3},
    "cbs-2024": {"french": 0, "healthcare": 35, "stem": 24, "trades": 10, "transport": 10, "agriculture": 3},
    "cbs-2025": {
        "french": 0,
        "healthcare_social_services": 37,
        "stem": 11,
        "trades": 25,
        "education": 5,
        "agriculture": 1,
        "physicians_canadian_experience": 3,
    },
    "cbs-2026": {
        "french": 0,
        "healthcare_social_services": 37,
        "stem": 11,
        "trades": 25,
        "education": 5,
        "transport": 4,
        "physicians_canadian_experience": 3,
        "senior_managers_canadian_experience": 4,
        "researchers_canadian_experience": 2,
        "skilled_military_recruits": 3,
    },
}


@pytest.fixture(scope="module")
def versions() -> list[CategoryVersion]:
    return load_versions()


@pytest.fixture(scope="module")
def draw_map() -> DrawNameMap:
    return load_draw_names()


@pytest.fixture(scope="module")
def unit_groups(shared_data: Path) -> dict[str, str]:
    rows = parse_structure(shared_data / STRUCTURE)
    return {str(r["code"]): str(r["title"]) for r in rows if r["level"] == 5}


@pytest.fixture(scope="module")
def rounds(shared_data: Path) -> list[dict]:
    return parse_rounds(shared_data / ROUNDS)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A writable copy of the curated folder, for tests that break a file."""
    target = tmp_path / "categories"
    shutil.copytree(CATEGORIES, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def by_id(versions: list[CategoryVersion]) -> dict[str, CategoryVersion]:
    return {v.version_id: v for v in versions}


# ---------------------------------------------------------------- the curated facts


def test_versions_sorted_and_contiguous(versions: list[CategoryVersion]) -> None:
    assert [v.version_id for v in versions] == ["cbs-2023", "cbs-2024", "cbs-2025", "cbs-2026"]
    for older, newer in zip(versions, versions[1:], strict=False):
        assert older.effective_to == newer.effective_from - dt.timedelta(days=1)
    assert versions[0].effective_from == dt.date(2023, 5, 31)
    assert versions[-1].effective_to is None


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2023-05-30", None),
        ("2023-05-31", "cbs-2023"),
        ("2023-12-31", "cbs-2023"),
        ("2024-01-01", "cbs-2024"),
        ("2024-03-01", "cbs-2024"),
        ("2025-02-26", "cbs-2024"),
        ("2025-02-27", "cbs-2025"),
        ("2025-06-01", "cbs-2025"),
        ("2026-02-17", "cbs-2025"),
        ("2026-02-18", "cbs-2026"),
        ("2026-06-01", "cbs-2026"),
    ],
)
def test_version_in_force(versions: list[CategoryVersion], day: str, expected: str | None) -> None:
    version = version_in_force(dt.date.fromisoformat(day), versions)
    assert (version.version_id if version else None) == expected


def test_version_in_force_loads_default_folder() -> None:
    version = version_in_force(dt.date(2024, 3, 1))
    assert version is not None and version.version_id == "cbs-2024"


def test_code_counts_per_version_and_category(versions: list[CategoryVersion]) -> None:
    counts = {v.version_id: {c.id: len(c.nocs) for c in v.categories} for v in versions}
    assert counts == EXPECTED_COUNTS


def test_physicians_start_inside_cbs_2025(versions: list[CategoryVersion]) -> None:
    before_version, before = categories_in_force(dt.date(2025, 12, 7), versions)
    after_version, after = categories_in_force(dt.date(2025, 12, 8), versions)
    assert before_version is after_version is by_id(versions)["cbs-2025"]
    assert "physicians_canadian_experience" not in {c.id for c in before}
    assert "physicians_canadian_experience" in {c.id for c in after}
    assert categories_in_force(dt.date(2020, 1, 1), versions) == (None, ())
    # The only category-level date in all files.
    dated = [
        (v.version_id, c.id) for v in versions for c in v.categories if c.effective_from or c.effective_to
    ]
    assert dated == [("cbs-2025", "physicians_canadian_experience")]


def test_rule_conventions(versions: list[CategoryVersion]) -> None:
    for version in versions:
        for category in version.categories:
            rules = category.rules
            if category.kind == "occupation":
                assert rules.full_time_hours_per_week == 30, (version.version_id, category.id)
                assert rules.window_months == 36
                assert rules.single_occupation is True
            if category.id == "french":
                assert category.kind == "language"
                language = rules.language
                assert language is not None
                assert (language.language, language.scale, language.min_level) == ("fr", "NCLC", 7)
                assert set(language.abilities) == {"listening", "reading", "speaking", "writing"}
                assert language.test_validity_months == 24
            if category.id.endswith("_canadian_experience"):
                assert rules.experience_location == "canada_only"
                assert rules.canadian_experience_required and rules.canadian_experience_min_months == 12


def test_experience_rule_by_version(versions: list[CategoryVersion]) -> None:
    for version in versions:
        for category in version.categories:
            if category.kind != "occupation":
                continue
            rules = category.rules
            key = (version.version_id, category.id)
            if version.version_id == "cbs-2026":
                assert rules.min_months == 12, key
                expected = "unknown" if category.id == "physicians_canadian_experience" else False
                assert rules.continuous == expected, key
            elif category.id == "physicians_canadian_experience":
                assert (rules.min_months, rules.continuous) == (12, True)
            else:
                assert (rules.min_months, rules.continuous) == (6, True), key


def test_military_recruits_not_assessable(versions: list[CategoryVersion]) -> None:
    military = next(c for c in by_id(versions)["cbs-2026"].categories if c.id == "skilled_military_recruits")
    assert military.kind == "other"
    assert military.rules.assessable is False
    assert "10 years" in (military.rules.not_assessable_reason or "")
    assert "Canadian Forces Recruiting Group" in (military.rules.not_assessable_reason or "")
    assert military.codes() == ("40042", "42102", "43204")
    assessable = [c.id for v in versions for c in v.categories if not c.rules.assessable]
    assert assessable == ["skilled_military_recruits"]


def test_per_code_confidence(versions: list[CategoryVersion]) -> None:
    medium = {
        (v.version_id, c.id, n.code)
        for v in versions
        for c in v.categories
        for n in c.nocs
        if n.confidence != "high"
    }
    assert medium == {
        ("cbs-2025", "healthcare_social_services", "32129"),
        ("cbs-2026", "healthcare_social_services", "32129"),
    }


def test_uncertainties_are_noted(versions: list[CategoryVersion]) -> None:
    v = by_id(versions)
    physicians = next(c for c in v["cbs-2026"].categories if c.id == "physicians_canadian_experience")
    assert any("U6" in n for n in physicians.notes)
    stem = next(c for c in v["cbs-2026"].categories if c.id == "stem")
    assert any("U5" in n for n in stem.notes)
    assert any("U2" in n for n in v["cbs-2024"].notes)


def test_codes_and_titles_match_official_structure(
    versions: list[CategoryVersion], unit_groups: dict[str, str]
) -> None:
    assert len(unit_groups) == 516
    check_against_noc(versions, unit_groups)
    codes = {n.code for v in versions for c in v.categories for n in c.nocs}
    assert codes <= unit_groups.keys()


# ---------------------------------------------------------------- rejecting bad files


def test_unknown_noc_code_is_rejected(folder: Path, unit_groups: dict[str, str]) -> None:
    edit(folder / "cbs-2026.yaml", "{code: '43204'", "{code: '43299'")
    with pytest.raises(CategoryDataError) as info:
        check_against_noc(load_versions(folder), unit_groups)
    message = str(info.value)
    assert "cbs-2026.yaml" in message and "43299" in message
    assert "skilled_military_recruits" in message and "not a NOC 2021" in message


def test_wrong_title_is_rejected(folder: Path, unit_groups: dict[str, str]) -> None:
    edit(folder / "cbs-2023.yaml", "title: Carpenters,", "title: Carpenter,")
    with pytest.raises(
        CategoryDataError, match=r"cbs-2023\.yaml: cbs-2023, category trades, code 72310.*'Carpenters'"
    ):
        check_against_noc(load_versions(folder), unit_groups)


def test_malformed_code_names_file_and_location(folder: Path) -> None:
    edit(folder / "cbs-2026.yaml", "{code: '43204'", "{code: '4320'")
    with pytest.raises(CategoryDataError, match=r"cbs-2026\.yaml: categories\[9\]\.nocs\[2\]\.code: "):
        load_versions(folder)


def test_missing_rule_field_is_rejected(folder: Path) -> None:
    edit(folder / "cbs-2025.yaml", "      continuous: true\n", "")
    with pytest.raises(
        CategoryDataError, match=r"cbs-2025\.yaml: categories\[1\]\.rules\.continuous: Field required"
    ):
        load_versions(folder)


def test_yaml_syntax_error_names_file_and_line(folder: Path) -> None:
    path = folder / "cbs-2024.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[20] = "label: [unclosed\n"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(CategoryDataError, match=r"cbs-2024\.yaml, line \d+: YAML syntax error"):
        load_versions(folder)


def test_file_name_must_match_version_id(folder: Path) -> None:
    (folder / "cbs-2026.yaml").rename(folder / "cbs-2027.yaml")
    with pytest.raises(CategoryDataError, match=r"cbs-2027\.yaml: version_id 'cbs-2026'"):
        load_versions(folder)


def test_overlapping_versions_are_rejected(folder: Path) -> None:
    edit(folder / "cbs-2025.yaml", "effective_to: 2026-02-17", "effective_to: 2026-03-01")
    with pytest.raises(CategoryDataError, match=r"cbs-2025.*cbs-2026.*overlap"):
        load_versions(folder)


def test_only_the_newest_version_may_be_open(versions: list[CategoryVersion]) -> None:
    v = by_id(versions)
    open_2024 = v["cbs-2024"].model_copy(update={"effective_to": None})
    with pytest.raises(CategoryDataError, match=r"cbs-2024.*cbs-2025.*overlap"):
        check_no_overlap([v["cbs-2023"], open_2024, v["cbs-2025"], v["cbs-2026"]])
    with pytest.raises(CategoryDataError, match="used twice"):
        check_no_overlap([v["cbs-2023"], v["cbs-2023"]])
    check_no_overlap(versions)


# ---------------------------------------------------------------- draw names


def test_draw_map_is_consistent(draw_map: DrawNameMap, versions: list[CategoryVersion]) -> None:
    check_draw_names(draw_map, versions)
    assert len(draw_map.category_draws) == 16
    assert set(draw_map.non_category_draws) == {
        "General",
        "No Program Specified",
        "Canadian Experience Class",
        "Provincial Nominee Program",
        "Federal Skilled Worker",
        "Federal Skilled Trades",
    }


def test_draw_map_rejects_unknown_category(draw_map: DrawNameMap, versions: list[CategoryVersion]) -> None:
    entry = draw_map.category_draws[0].model_copy(update={"category_id": "cooking"})
    broken = draw_map.model_copy(update={"category_draws": (entry,)})
    with pytest.raises(CategoryDataError, match="has no category cooking"):
        check_draw_names(broken, versions)


def test_every_round_name_is_mapped(
    rounds: list[dict], draw_map: DrawNameMap, versions: list[CategoryVersion]
) -> None:
    per_version: Counter[tuple[str, str]] = Counter()
    label_ahead_of_date = []
    for row in rounds:
        category_id, version_id = category_for_draw(row["round_name"], row["round_date"], draw_map, versions)
        if row["round_name"] in draw_map.non_category_draws:
            assert (category_id, version_id) == (None, None)
            continue
        assert category_id is not None and version_id is not None, row
        in_force = version_in_force(row["round_date"], versions)
        if in_force is None or in_force.version_id != version_id:
            label_ahead_of_date.append(row["round_number"])
        version = by_id(versions)[version_id]
        assert category_id in {c.id for c in version.categories}, row
        per_version[(version_id, category_id)] += 1
    assert sum(per_version.values()) == 74
    # Rounds per version as compiled from the same JSON (French: 6, 12, 8, 10).
    assert [per_version[(v, "french")] for v in EXPECTED_COUNTS] == [6, 12, 8, 10]
    assert per_version[("cbs-2025", "healthcare_social_services")] == 7
    assert per_version[("cbs-2026", "skilled_military_recruits")] == 1
    # docs/warehouse.md: the one round whose label's version was not yet in force on its date.
    assert label_ahead_of_date == ["394"]


@pytest.mark.parametrize(
    ("name", "day", "expected"),
    [
        ("French language proficiency (Version 1)", "2023-07-07", ("french", "cbs-2023")),
        ("French language proficiency (Version 1)", "2024-02-01", ("french", "cbs-2024")),
        ("French language proficiency (Version 1)", "2025-12-17", ("french", "cbs-2025")),
        # Used before the 2026 version was announced: nearest listed version.
        ("French-Language proficiency 2026-Version 2", "2026-02-06", ("french", "cbs-2026")),
        ("Healthcare occupations (Version 1)", "2023-06-28", ("healthcare", "cbs-2023")),
        ("Trades Occupations, 2026-Version 3", "2026-04-02", ("trades", "cbs-2026")),
        ("Canadian Experience Class", "2026-08-18", (None, None)),
        ("No Program Specified", "2015-01-31", (None, None)),
    ],
)
def test_category_for_draw(
    draw_map: DrawNameMap, versions: list[CategoryVersion], name: str, day: str, expected: tuple
) -> None:
    assert category_for_draw(name, dt.date.fromisoformat(day), draw_map, versions) == expected


def test_name_outside_its_versions_gets_the_nearest(
    draw_map: DrawNameMap, versions: list[CategoryVersion]
) -> None:
    # A "(Version 1)" healthcare name after cbs-2024 ended: cbs-2024 is nearer than cbs-2023.
    assert category_for_draw(
        "Healthcare occupations (Version 1)", dt.date(2025, 3, 1), draw_map, versions
    ) == (
        "healthcare",
        "cbs-2024",
    )


def test_unmapped_draw_name_raises(draw_map: DrawNameMap, versions: list[CategoryVersion]) -> None:
    with pytest.raises(UnmappedDrawName, match="Plumbers 2027"):
        category_for_draw("Plumbers 2027", dt.date(2027, 1, 1), draw_map, versions)


def test_duplicate_draw_name_is_rejected(folder: Path) -> None:
    edit(folder / "draw_names.yaml", "  - General\n", "  - General\n  - STEM occupations (Version 1)\n")
    with pytest.raises(CategoryDataError, match=r"draw_names\.yaml: .*STEM occupations \(Version 1\)"):
        load_draw_names(folder)
