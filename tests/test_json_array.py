"""Reading a JSON array element by element (nocfit.json_array): the same values as json.loads,
wherever the file's pieces are cut, and faults reported with their place."""

from __future__ import annotations

import json
import random
import tracemalloc
from pathlib import Path

import pytest

from nocfit import json_array
from nocfit.json_array import NotAnArray, NotUtf8, elements

VALUES = [
    1,
    -500.0,
    12345,
    2.5e-3,
    "é€😀",
    'a"b',
    None,
    True,
    {},
    [],
    [1, [2, {}]],
    {"id": "a", "title": "Cook 😀", "duties": "Prepare meals.\nClean."},
]


def _read(path: Path, read_bytes: int) -> list:
    return list(elements(path, read_bytes=read_bytes))


@pytest.mark.parametrize("read_bytes", [1, 2, 3, 7, 1 << 16])
def test_the_same_values_as_json_loads_wherever_the_pieces_are_cut(tmp_path: Path, read_bytes: int) -> None:
    rng = random.Random(read_bytes)
    path = tmp_path / "in.json"
    for _ in range(150):
        values = [rng.choice(VALUES) for _ in range(rng.randint(0, 6))]
        text = json.dumps(values, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 1]))
        path.write_bytes(("\ufeff" if rng.random() < 0.2 else "").encode() + f" \n{text}\n".encode())
        assert _read(path, read_bytes) == values


@pytest.mark.parametrize("read_bytes", [1, 3, 1 << 16])
def test_a_number_cut_at_a_piece_boundary_is_read_whole(tmp_path: Path, read_bytes: int) -> None:
    path = tmp_path / "in.json"
    path.write_text("[-500.0, 1234e2,12]")
    assert _read(path, read_bytes) == [-500.0, 123400.0, 12]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[{"id": "a"},\n{"id": "b"} {"id": "c"}]', "expected ',' or ']' after an item: line 2 column 13"),
        ('[{"id": "a"}]\n[1]', "extra data after the array: line 2 column 1"),
        ('[{"id": "a"},\n', "the array is never closed: line 2 column 1"),
        ('[{"id": "a"},]', "Expecting value: line 1 column 14"),
        ('{"id": "a"}', "expected '[': line 1 column 1"),
        ("[" * 100_000, "item 1 is nested too deeply"),
    ],
)
def test_a_fault_is_reported_with_its_place(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "in.json"
    path.write_text(text)
    for read_bytes in (2, 1 << 16):
        with pytest.raises(NotAnArray, match=reason.replace("[", r"\[").replace("]", r"\]")):
            _read(path, read_bytes)


def test_a_fault_far_into_a_long_file_gives_its_line(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    items = [{"id": str(i), "title": "Cook"} for i in range(60_000)]  # > 1 MiB: the window moves on
    text = json.dumps(items, indent=1)[:-2] + "x]"  # the last line is now ' }x]'
    path.write_text(text)
    with pytest.raises(json.JSONDecodeError) as whole:
        json.loads(text)
    assert (whole.value.lineno, whole.value.colno) == (240_001, 3)
    with pytest.raises(NotAnArray, match="line 240001 column 3$"):
        _read(path, 1 << 16)


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("read_bytes", [1, 2, 3, 64])
def test_bytes_that_are_not_utf8_are_found_at_their_offset(
    tmp_path: Path, bom: bytes, read_bytes: int
) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(bom + '["é", "'.encode() + b"\xff" + b'"]')
    with pytest.raises(NotUtf8) as caught:
        _read(path, read_bytes)
    assert caught.value.offset == 8  # as bytes.decode("utf-8-sig") counts it


def test_an_element_over_the_limit_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(json_array, "MAX_ELEMENT_CHARS", 100_000)
    path = tmp_path / "in.json"
    path.write_text('[{"id": "a", "title": "' + "x" * 50_000 + '"}, {"id": "b", "title": "' + "y" * 500_000)
    values = elements(path)
    assert next(values)["id"] == "a"
    with pytest.raises(NotAnArray, match="item 2 is longer than 100,000 characters"):
        next(values)


def test_memory_stays_small_whatever_the_size_of_the_array(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    item = {"id": "x", "title": "Senior software developer", "duties": "Write code. Review code. " * 5}
    path.write_text(json.dumps([item] * 100_000))  # 20 MB
    tracemalloc.start()
    try:
        count = sum(1 for _ in elements(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 100_000
    assert peak < 4_000_000  # json.loads of the same file peaks near 70 MB
