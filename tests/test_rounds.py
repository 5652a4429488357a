"""IRCC rounds JSON: parsed from the real file, and malformed copies rejected with clear messages."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from nocfit.categories.load import UnmappedDrawName, load_draw_names
from nocfit.categories.model import DrawNameMap
from nocfit.ingest.csvfile import SourceFormatError
from nocfit.ingest.rounds import parse_rounds, round_type

ROUNDS = "ircc/ee_rounds_123_en.json"


@pytest.fixture(scope="module")
def rounds(shared_data: Path) -> list[dict]:
    return parse_rounds(shared_data / ROUNDS)


@pytest.fixture(scope="module")
def draw_map() -> DrawNameMap:
    return load_draw_names()


def by_number(rounds: list[dict]) -> dict[str, dict]:
    return {r["round_number"]: r for r in rounds}


def test_all_rounds_parsed(rounds: list[dict]) -> None:
    assert len(rounds) == 438
    assert len({r["round_number"] for r in rounds}) == 438
    for row in rounds:
        assert type(row["invitations"]) is int and row["invitations"] > 0, row
        assert type(row["crs_cutoff"]) is int and row["crs_cutoff"] > 0, row
        assert isinstance(row["round_date"], dt.date)
        assert row["round_name"] == row["round_name"].strip() and row["round_name"]
    # Thousands separators removed: the published total (SOURCES.md) is 1,037,113.
    assert sum(r["invitations"] for r in rounds) == 1_037_113
    assert (rounds[0]["round_date"], rounds[-1]["round_date"]) == (dt.date(2015, 1, 31), dt.date(2026, 8, 19))


def test_newest_round(rounds: list[dict]) -> None:
    newest = rounds[-1]
    assert newest["round_number"] == "437"
    assert newest["round_name"] == "French-Language proficiency 2026-Version 2"
    assert (newest["invitations"], newest["crs_cutoff"]) == (5000, 382)
    assert newest["distribution_as_of"] == dt.date(2026, 8, 16)
    assert newest["tie_break_at"] == "March 1, 2026 at 18:34:05 UTC"
    assert newest["programs"].startswith("Federal Skilled Worker Program")
    assert newest["url"].startswith("https://www.canada.ca/en/immigration-refugees-citizenship/")
    assert newest["url"].endswith("invitations.html?q=437")


def test_split_round_91_kept_and_sorted(rounds: list[dict]) -> None:
    numbers = [r["round_number"] for r in rounds]
    assert numbers[numbers.index("90") : numbers.index("92") + 1] == ["90", "91a", "91b", "92"]
    rows = by_number(rounds)
    assert rows["91a"]["round_sort_key"] < rows["91b"]["round_sort_key"]
    assert rows["91a"]["round_name"] == "Federal Skilled Trades"
    assert rows["91b"]["round_name"] == "Provincial Nominee Program"


def test_sort_key_is_chronological(rounds: list[dict]) -> None:
    keys = [r["round_sort_key"] for r in rounds]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    dates = [r["round_date"] for r in rounds]
    assert dates == sorted(dates)


def test_tie_break_empty_for_early_rounds(rounds: list[dict]) -> None:
    empty = [r["round_number"] for r in rounds if r["tie_break_at"] is None]
    assert empty == [str(n) for n in range(1, 77)]


def test_round_types(rounds: list[dict], draw_map: DrawNameMap) -> None:
    types = Counter(round_type(r["round_name"], draw_map) for r in rounds)
    assert types == {"general": 178, "program-specific": 186, "category-based": 74}
    assert round_type("General", draw_map) == "general"
    assert round_type("Federal Skilled Worker", draw_map) == "program-specific"
    assert round_type("Skilled Military Recruits, 2026-Version 1", draw_map) == "category-based"
    for name in draw_map.non_category_draws:  # every non-category name has a type
        assert round_type(name, draw_map) in {"general", "program-specific"}
    with pytest.raises(UnmappedDrawName, match="Bakers"):
        round_type("Bakers (Version 1)", draw_map)
    extended = draw_map.model_copy(update={"non_category_draws": (*draw_map.non_category_draws, "Atlantic")})
    with pytest.raises(UnmappedDrawName, match="'Atlantic' is a non-category round of unknown type"):
        round_type("Atlantic", extended)


# ---------------------------------------------------------------- malformed files


def sample(shared_data: Path, n: int = 5) -> dict:
    """The first ``n`` rounds of the real file (437 down to 433), as a fresh object."""
    data = json.loads((shared_data / ROUNDS).read_text(encoding="utf-8"))
    return {"classes": data["classes"], "rounds": data["rounds"][:n]}


def set_field(index: int, field: str, value: object) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        data["rounds"][index][field] = value

    return change


def drop_field(index: int, field: str) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        del data["rounds"][index][field]

    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (drop_field(2, "drawCRS"), r"round 435: missing field\(s\) drawCRS"),
        (
            set_field(1, "drawSize", "1.000"),
            r"round 436: drawSize \(invitations\) '1.000' is not a whole number",
        ),
        (set_field(1, "drawSize", ""), r"round 436: drawSize \(invitations\) '' is not a whole number"),
        (set_field(3, "drawCRS", "n/a"), r"round 434: drawCRS 'n/a' is not a whole number"),
        (set_field(0, "drawCRS", 382), r"round 437: field\(s\) drawCRS should be strings"),
        (set_field(4, "drawDate", "2026-02-30"), r"round 433: drawDate '2026-02-30' is not a date"),
        (set_field(4, "drawDistributionAsOn", "16/08/2026"), r"round 433: drawDistributionAsOn '16/08/2026'"),
        (set_field(2, "drawNumber", "436"), r"round 436: duplicate round number"),
        (set_field(2, "drawNumber", "#435"), r"round #435: drawNumber '#435' is not a round number"),
        (set_field(3, "drawName", "  "), r"round 434: empty drawName"),
    ],
)
def test_malformed_round_is_rejected(
    tmp_path: Path, shared_data: Path, change: Callable[[dict], None], expected: str
) -> None:
    data = sample(shared_data)
    change(data)
    path = tmp_path / "ee_rounds_123_en.json"
    text = json.dumps(data, indent=2)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceFormatError, match=expected) as info:
        parse_rounds(path)
    error = info.value
    assert error.file == "ee_rounds_123_en.json" and str(error).startswith("ee_rounds_123_en.json, line ")
    # The reported line is the one holding the bad round's "drawNumber".
    assert '"drawNumber"' in text.splitlines()[error.line - 1]


@pytest.mark.parametrize(
    ("content", "expected", "line"),
    [
        ('{"classes": "wb-tables", "rounds": [\n{"drawNumber": "1",\n', "not valid JSON", 3),
        ('[{"drawNumber": "1"}]', 'expected a JSON object with a "rounds" list', 1),
        ('{"classes": "wb-tables", "data": []}', 'expected a JSON object with a "rounds" list', 1),
        ('{"classes": "wb-tables", "rounds": []}', '"rounds" is empty', 1),
        ('{"rounds": ["437"]}', r"rounds\[0\]: expected an object, found str", 1),
    ],
)
def test_malformed_file_is_rejected(tmp_path: Path, content: str, expected: str, line: int | None) -> None:
    path = tmp_path / "rounds.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SourceFormatError, match=expected) as info:
        parse_rounds(path)
    assert info.value.file == "rounds.json"
    assert info.value.line == line


def test_not_utf8_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "rounds.json"
    path.write_bytes('{"rounds": [{"drawName": "Fran\u00e7ais"}]}'.encode("cp1252"))
    with pytest.raises(SourceFormatError, match="not valid UTF-8"):
        parse_rounds(path)
