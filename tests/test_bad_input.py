"""A corrupted source fails the refresh with file, line and problem, and never touches the warehouse."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from nocfit.cli import main
from nocfit.sources.fetch import file_sha256

STRUCTURE = "noc2021/noc-2021-v1.0-classification-structure.csv"
TITLES = "oasis2023/example-titles_oasis_2023_v1.0.csv"
DUTIES = "oasis2023/main-duties_oasis-2023_v1.0.csv"
LABELS = "oasis2023/labels_oasis_2023_v1.0.csv"
ADDITIONAL = "oasis2023/additional-information_oasis_2023_v1.0.csv"
CONCORDANCE = "noc2021/noc2016v1_3-noc2021v1_0-eng.csv"


def rename_header(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data.replace(b"Class title", b"Class name", 1))


def to_cp1252(path: Path) -> None:
    text = path.read_bytes().decode("utf-8-sig")
    path.write_bytes(text.encode("cp1252"))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])


def unknown_code(path: Path) -> None:
    lines = path.read_bytes().split(b"\r\n")
    lines[1000] = lines[1000].replace(lines[1000].split(b",")[0], b"99999.00", 1)
    path.write_bytes(b"\r\n".join(lines))


def cut_at_a_line_break(path: Path) -> None:
    """Half the rows, cut cleanly: every line parses, so only coverage can tell."""
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[: len(lines) // 2]))


def truncated_mid_quote(path: Path) -> None:
    data = path.read_bytes()
    cut = data.index(b'"', len(data) // 2) + 5  # stop inside a quoted cell
    path.write_bytes(data[:cut] + b"\n")


CASES: list[tuple[str, Callable[[Path], None], list[str]]] = [
    (
        STRUCTURE,
        rename_header,
        ["noc-2021-v1.0-classification-structure.csv", "line 1", "missing column", "Class title"],
    ),
    (STRUCTURE, to_cp1252, ["noc-2021-v1.0-classification-structure.csv", "not valid UTF-8", "cp1252"]),
    # A user folder (NOCFIT_SOURCES): the fix is the user's, not a re-download.
    (DUTIES, truncate, ["main-duties_oasis-2023_v1.0.csv", "truncated", "replace it with the official file"]),
    (DUTIES, cut_at_a_line_break, ["noc.main_duties covers", "unit groups; missing"]),
    # Not every unit group has additional information, so only the published row count tells.
    (ADDITIONAL, cut_at_a_line_break, ["additional-information_oasis_2023_v1.0.csv: 577 rows", "cut short"]),
    # The labels file is named, not the seven healthy files that name profiles it lost.
    (LABELS, cut_at_a_line_break, ["labels_oasis_2023_v1.0.csv: 449 rows", "cut short"]),
    (CONCORDANCE, truncated_mid_quote, ["noc2016v1_3-noc2021v1_0-eng.csv", "line", "truncated"]),
    (TITLES, unknown_code, ["example-titles_oasis_2023_v1.0.csv", "line 1001", "unknown NOC code 99999"]),
]


@pytest.mark.parametrize(("relpath", "corrupt", "expected"), CASES, ids=[c[1].__name__ for c in CASES])
def test_corrupted_source_fails_clearly_and_keeps_the_warehouse(
    relpath: str,
    corrupt: Callable[[Path], None],
    expected: list[str],
    private_warehouse: Path,
    writable_sources: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    warehouse = private_warehouse
    before = file_sha256(warehouse)

    corrupt(writable_sources / relpath)
    capsys.readouterr()
    assert main(["refresh", "--force"]) == 1

    err = capsys.readouterr().err
    for fragment in expected:
        assert fragment in err, err
    assert "left unchanged" in err
    assert file_sha256(warehouse) == before
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM noc.unit_groups").fetchone()[0] == 516
        assert con.execute("SELECT count(*) FROM noc.main_duties").fetchone()[0] == 4991
    staging = warehouse.parent / f".{warehouse.name}.staging"
    assert not staging.exists() or not any(staging.iterdir())
