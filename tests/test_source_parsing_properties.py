"""Hostile input for the source parsers (nocfit/ingest/noc.py, nocfit/ingest/rounds.py).

Every official file, truncated at any byte, re-encoded (cp1252, latin-1, UTF-16) or with random
bytes inserted anywhere, either raises SourceFormatError whose message names the file and a line,
or parses cleanly - and then only to a genuinely complete result: a truncation at a record
boundary gives the leading records unchanged (fewer of them, which the warehouse checks catch
where they exist), an insertion keeps every record, a re-encoding changes nothing. No other
exception type, and every parse takes bounded time.

Examples are derandomized (the same on every run, so CI is stable) and few; to explore more, run
with e.g. NOCFIT_PROPERTY_EXAMPLES=2000 (random examples, this many per test).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nocfit.ingest import checks, noc
from nocfit.ingest.csvfile import SourceFormatError
from nocfit.ingest.rounds import parse_rounds
from tests.conftest import SHARED_DATA

#: Seconds one parse may take (the largest official file parses in about 0.1 s).
PARSE_SECONDS = 10.0
EXPLORE = int(os.environ.get("NOCFIT_PROPERTY_EXAMPLES", "0"))


def examples(default: int) -> settings:
    return settings(
        max_examples=EXPLORE or default,
        derandomize=not EXPLORE,
        database=None,
        deadline=None,  # bounded time is asserted per parse instead (no flaky deadline reruns)
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@dataclass(frozen=True)
class Reference:
    unit_groups: frozenset[str]
    profiles: frozenset[str]


@cache
def reference() -> Reference:
    structure = noc.parse_structure(SHARED_DATA / "noc2021/noc-2021-v1.0-classification-structure.csv")
    unit_groups = frozenset(r["code"] for r in structure if r["level"] == 5)
    labels = noc.parse_profiles(SHARED_DATA / "oasis2023/labels_oasis_2023_v1.0.csv", set(unit_groups))
    return Reference(unit_groups, frozenset(r["profile_code"] for r in labels))


def _texts(column: str) -> Callable[[Path], list]:
    return lambda p: noc.parse_profile_texts(
        p, column, set(reference().unit_groups), set(reference().profiles)
    )


PARSERS: dict[str, Callable[[Path], list]] = {
    "noc2021/noc-2021-v1.0-classification-structure.csv": noc.parse_structure,
    "noc2021/noc2016v1_3-noc2021v1_0-eng.csv": lambda p: noc.parse_concordance(
        p, set(reference().unit_groups)
    ),
    "oasis2023/labels_oasis_2023_v1.0.csv": lambda p: noc.parse_profiles(p, set(reference().unit_groups)),
    "oasis2023/example-titles_oasis_2023_v1.0.csv": lambda p: noc.parse_titles(
        p, set(reference().unit_groups), set(reference().profiles)
    ),
    "oasis2023/main-duties_oasis-2023_v1.0.csv": _texts("Main duties"),
    "oasis2023/lead-statement_oasis_2023_v1.0.csv": _texts("Lead statement"),
    "oasis2023/employment-requirements_oasis_2023_v1.0.csv": _texts("Employment requirement"),
    "oasis2023/additional-information_oasis_2023_v1.0.csv": _texts("Additional information (EN)"),
    "oasis2023/workplaces-employers_oasis_2023_v1.0.csv": lambda p: noc.parse_workplaces(
        p, set(reference().unit_groups), set(reference().profiles)
    ),
    "oasis2023/exclusions_oasis_2023_v1.0.csv": lambda p: noc.parse_exclusions(
        p, set(reference().unit_groups), set(reference().profiles)
    ),
    "ircc/ee_rounds_123_en.json": parse_rounds,
}
FILES = sorted(PARSERS)


@cache
def original(relpath: str) -> bytes:
    return (SHARED_DATA / relpath).read_bytes()


@cache
def original_rows(relpath: str) -> list:
    return PARSERS[relpath](SHARED_DATA / relpath)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


def parse_hostile(workdir: Path, relpath: str, data: bytes) -> list | None:
    """Rows if ``data`` parses, None if it raised a proper SourceFormatError; anything else fails."""
    name = relpath.rsplit("/", 1)[-1]
    path = workdir / name  # the same file name, so messages can be checked for it
    path.write_bytes(data)
    started = time.monotonic()
    try:
        rows = PARSERS[relpath](path)
    except SourceFormatError as exc:
        message = str(exc)
        assert message.startswith(f"{name}, line "), message
        assert re.match(rf"{re.escape(name)}, line \d+: \S", message), message
        assert exc.line is not None and 1 <= exc.line <= data.count(b"\n") + 1, message
        return None
    finally:
        assert time.monotonic() - started < PARSE_SECONDS
    return rows


def line_ends(data: bytes) -> list[int]:
    """Offsets just after each \\r or \\n: cutting there ends the file on a line break."""
    return [i + 1 for i, byte in enumerate(data) if byte in b"\r\n"]


# ---------------------------------------------------------------- what catches a shorter file


def _table(con: duckdb.DuckDBPyConnection, table: str, column: str, values: list[str]) -> None:
    con.execute(f"CREATE TABLE {table} AS SELECT unnest(CAST(? AS VARCHAR[])) AS {column}", [values])


def _structure_caught(rows: list) -> bool:
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA noc")
        _table(con, "noc.unit_groups", "code", [r["code"] for r in rows if r["level"] == 5])
        return not checks.unit_group_count(con).passed


def _concordance_caught(rows: list) -> bool:
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA noc")
        _table(con, "noc.unit_groups", "code", sorted(reference().unit_groups))
        _table(con, "noc.concordance_2016_2021", "noc2021_code", [r["noc2021_code"] for r in rows])
        return not checks.concordance_covers_unit_groups(con).passed


def _empty_table_caught(rows: list) -> bool:
    """codes_in_structure (on every OaSIS table) fails an empty table."""
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA noc; CREATE TABLE noc.structure (code VARCHAR, level INTEGER)")
        _table(con, "noc.loaded", "code", [r["code"] for r in rows])
        return not checks.codes_in_structure(con, "noc.loaded").passed


#: The warehouse check that refuses to publish a file cut at a record boundary. The OaSIS files
#: have one only for a cut right after the header (no rows at all): otherwise such a cut loads
#: with fewer rows, visible only as rows_before > rows_after in meta.source_changes.
CAUGHT_BY: dict[str, Callable[[list], bool]] = {
    "noc2021/noc-2021-v1.0-classification-structure.csv": _structure_caught,
    "noc2021/noc2016v1_3-noc2021v1_0-eng.csv": _concordance_caught,
    "ircc/ee_rounds_123_en.json": lambda rows: len(rows) < checks.MIN_ROUNDS,
}


# ---------------------------------------------------------------- truncation


@examples(80)
@given(data=st.data())
def test_truncated_anywhere(workdir: Path, data: st.DataObject) -> None:
    relpath = data.draw(st.sampled_from(FILES), label="file")
    whole = original(relpath)
    cut = data.draw(st.integers(1, len(whole) - 1), label="cut")
    rows = parse_hostile(workdir, relpath, whole[:cut])
    if rows is not None:  # only a cut on a line break can parse: it must be a clean prefix
        assert whole[cut - 1 : cut] in (b"\r", b"\n") or not whole[cut:].strip()
        assert_complete_prefix(relpath, rows, whole[cut:])


@examples(30)
@given(data=st.data())
def test_truncated_at_a_record_boundary(workdir: Path, data: st.DataObject) -> None:
    relpath = data.draw(st.sampled_from(FILES), label="file")
    whole = original(relpath)
    cut = data.draw(st.sampled_from(line_ends(whole)[:-1]), label="cut")
    rows = parse_hostile(workdir, relpath, whole[:cut])
    if rows is not None:
        assert_complete_prefix(relpath, rows, whole[cut:])


def assert_complete_prefix(relpath: str, rows: list, rest: bytes) -> None:
    full = original_rows(relpath)
    if not rest.strip():  # only trailing whitespace was cut: the whole file
        assert rows == full
        return
    assert len(rows) < len(full)
    assert rows == full[: len(rows)], "a truncated file must never yield a mangled last record"
    caught = CAUGHT_BY.get(relpath, None if rows else _empty_table_caught)
    if caught is not None:
        assert caught(rows), f"{relpath} cut to {len(rows)} rows would be published"


# ---------------------------------------------------------------- insertion


@examples(80)
@given(data=st.data())
def test_random_bytes_inserted(workdir: Path, data: st.DataObject) -> None:
    relpath = data.draw(st.sampled_from(FILES), label="file")
    whole = original(relpath)
    at = data.draw(st.integers(0, len(whole)), label="offset")
    junk = data.draw(
        st.one_of(
            st.binary(min_size=1, max_size=12),
            st.text(alphabet='",;\r\n\t "\\{}[]:0123456789.aé’\ufeff\x00', min_size=1, max_size=6).map(
                str.encode
            ),
        ),
        label="junk",
    )
    rows = parse_hostile(workdir, relpath, whole[:at] + junk + whole[at:])
    if rows is not None:
        full = original_rows(relpath)
        # Nothing silently lost or gained: every record is still there, at most one altered
        # (the junk landed inside a text value, which no parser can tell from a real edit).
        assert len(rows) == len(full)
        assert sum(a != b for a, b in zip(rows, full, strict=True)) <= 1


# ---------------------------------------------------------------- re-encoding


ENCODINGS = ["cp1252", "latin-1", "utf-16", "utf-16-le"]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("relpath", FILES, ids=[f.rsplit("/", 1)[-1] for f in FILES])
def test_re_encoded(workdir: Path, relpath: str, encoding: str) -> None:
    text = original(relpath).decode("utf-8-sig")
    data = text.encode(encoding, errors="replace")  # a careless re-save, '?' for what does not fit
    rows = parse_hostile(workdir, relpath, data)
    if rows is not None:  # only a pure-ASCII file survives, unchanged (its BOM dropped at most)
        assert data.decode("ascii") == text
        assert rows == original_rows(relpath)
        return
    if encoding.startswith("cp") or encoding.startswith("latin"):
        # The error points at the line of the first character the re-save changed.
        first = next(
            i for i, ch in enumerate(text) if ord(ch) > 127 and ch.encode(encoding, "replace") != b"?"
        )
        with pytest.raises(SourceFormatError, match="not valid UTF-8") as error:
            PARSERS[relpath](workdir / relpath.rsplit("/", 1)[-1])
        assert error.value.line == text.count("\n", 0, first) + 1
