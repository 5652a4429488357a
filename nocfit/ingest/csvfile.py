"""Strict reading of official CSV files: every problem names the file, the line and the fault.

Official StatCan and ESDC files are UTF-8 (with a byte-order mark) and end with a line break.
A file that is not valid UTF-8, looks double-encoded, lacks expected columns, has a record
with the wrong number of fields, or stops in the middle of a record is rejected before
anything is written to the warehouse.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

# Typical marks of UTF-8 text that was decoded as cp1252/latin-1 and re-encoded ("Ã©", "â€™").
_MOJIBAKE = re.compile("Ã[\u0080-\u00bf]|â€|Â[\u00a0-\u00bf]")


class SourceFormatError(ValueError):
    """A source file is malformed. ``str()`` reads "file, line N: problem"."""

    def __init__(self, file: str | Path, problem: str, line: int | None = None) -> None:
        self.file = str(file)
        self.line = line
        self.problem = problem
        where = f"{self.file}, line {line}" if line is not None else self.file
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Record:
    line: int  # physical line where the record starts (header is line 1)
    values: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.values[column]


def decode_utf8(path: Path, data: bytes) -> str:
    """Strict UTF-8 with an optional BOM; errors carry the line number of the bad byte."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise SourceFormatError(path, "file is UTF-16; the official files are UTF-8", line=1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceFormatError(
            path,
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "the file may have been re-saved in another encoding such as cp1252",
            line=line,
        ) from None
    bad = _MOJIBAKE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise SourceFormatError(
            path, f"text looks double-encoded ({bad.group()!r}); re-download the original file", line=line
        )
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise SourceFormatError(path, "contains NUL bytes (binary or corrupted file)", line=line)
    return text


def read_records(path: Path, required: Sequence[str], *, name: str | None = None) -> list[Record]:
    """All records of a CSV file as dicts keyed by the required column names.

    Header names are compared after trimming whitespace (the concordance has " GSIM Type of
    Change" with a leading space); extra columns are allowed, missing ones are an error.
    """
    label = name or path.name
    data = path.read_bytes()
    if not data.strip():
        raise SourceFormatError(label, "file is empty")
    text = decode_utf8(Path(label), data)
    if not text.endswith(("\n", "\r")):
        last_line = text.count("\n") + 1
        raise SourceFormatError(
            label, "file does not end with a line break: it looks truncated", line=last_line
        )
    return list(_iter_records(label, text, required))


def _iter_records(label: str, text: str, required: Sequence[str]) -> Iterator[Record]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise SourceFormatError(label, f"cannot read the header: {exc}", line=1) from None
    names = [h.strip() for h in header]
    missing = [c for c in required if c not in names]
    if missing:
        raise SourceFormatError(
            label,
            f"missing column(s) {', '.join(repr(m) for m in missing)}; found {names}",
            line=1,
        )
    # Official files sometimes end every line with a comma: an unnamed empty last column.
    width = len(names)
    index = {c: names.index(c) for c in required}
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise SourceFormatError(
                label, f"malformed CSV ({exc}); the file may be truncated", line=start
            ) from None
        if not row:
            start = reader.line_num + 1
            continue
        if len(row) != width:
            raise SourceFormatError(
                label,
                f"expected {width} fields, found {len(row)}; the file may be truncated or mis-quoted",
                line=start,
            )
        yield Record(start, {c: row[i] for c, i in index.items()})
        start = reader.line_num + 1
