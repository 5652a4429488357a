"""Read a file that holds one JSON array (``[{...}, {...}]``) element by element.

``json.load`` holds the whole file and every parsed element in memory at once: a few gigabytes
of batch input would need many times that. Here only the element being parsed is held, so
memory is bounded by the largest element (``MAX_ELEMENT_CHARS``), whatever the file's size.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path

#: Bytes read from the file at a time.
READ_BYTES = 1 << 16
#: An element longer than this is refused: a batch item is an id, a title and duties (each
#: cut to a few thousand characters), so such an element is a fault, and keeping on reading
#: it would hold the rest of the file in memory.
MAX_ELEMENT_CHARS = 64 * 1024 * 1024
_WHITESPACE = " \t\n\r"
_NUMBER_GOES_ON = "0123456789.eE+-"


class NotAnArray(ValueError):
    """The file is not one valid JSON array; the message says where and why."""


class NotUtf8(ValueError):
    """The file is not UTF-8 text; ``offset`` is the first bad byte (after any BOM)."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"not UTF-8 text at byte {offset}")
        self.offset = offset


def _text_chunks(path: Path, read_bytes: int) -> Iterator[str]:
    """The file's text, decoded piece by piece (a leading BOM dropped)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0  # bytes handed to the decoder so far, after the BOM
    with path.open("rb") as handle:
        first = handle.read(3)
        if first != b"\xef\xbb\xbf":
            handle.seek(0)
        while True:
            raw = handle.read(read_bytes)
            pending = len(decoder.getstate()[0])  # a character cut at the last piece's end
            try:
                text = decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as exc:
                raise NotUtf8(offset - pending + exc.start) from None
            offset += len(raw)
            if text:
                yield text
            if not raw:
                return


class _Reader:
    """A window of the file's text with its position, and line/column for messages."""

    def __init__(self, chunks: Iterator[str]) -> None:
        self.chunks = chunks
        self.text = ""
        self.pos = 0
        self.eof = False
        self.dropped_lines = 0  # newlines in text already dropped from the window
        self.dropped_column = 0  # characters after the last dropped newline

    def read_more(self) -> bool:
        piece = next(self.chunks, None)
        if piece is None:
            self.eof = True
            return False
        if self.pos > (1 << 20) and self.pos > len(self.text) // 2:  # drop what was parsed
            gone = self.text[: self.pos]
            newlines = gone.count("\n")
            self.dropped_lines += newlines
            self.dropped_column = (
                len(gone) - gone.rfind("\n") - 1 if newlines else self.dropped_column + len(gone)
            )
            self.text, self.pos = self.text[self.pos :], 0
        self.text += piece
        return True

    def peek(self) -> str:
        """The next character that is not white space ('' at the end of the file)."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.read_more():
                return ""

    def where(self, pos: int | None = None) -> str:
        pos = self.pos if pos is None else pos
        line = self.dropped_lines + self.text.count("\n", 0, pos) + 1
        last = self.text.rfind("\n", 0, pos)
        column = pos - last if last >= 0 else self.dropped_column + pos + 1
        return f"line {line} column {column}"

    def fail(self, reason: str, pos: int | None = None) -> NotAnArray:
        return NotAnArray(f"{reason}: {self.where(pos)}")

    def value(self, number: int) -> object:
        """Parse the JSON value at the current position, reading more text until it is whole."""
        decoder = json.JSONDecoder()
        while True:
            start = self.pos
            try:
                value, end = decoder.raw_decode(self.text, start)
            except RecursionError:
                raise self.fail(f"item {number} is nested too deeply") from None
            except json.JSONDecodeError as exc:
                if self.eof:
                    raise self.fail(exc.msg, exc.pos) from None
                reason = exc.msg
            else:
                # A number may go on past the text read so far ('12' of '1234', '-5' of '-5.0e3').
                if self.eof or (end < len(self.text) and self.text[end] not in _NUMBER_GOES_ON):
                    self.pos = end
                    return value
                reason = "item cut short"
            if len(self.text) - start > MAX_ELEMENT_CHARS:
                raise self.fail(f"item {number} is longer than {MAX_ELEMENT_CHARS:,} characters ({reason})")
            # Read as much again as is held, so a long element is parsed a few times, not once
            # per piece (reading may move the window: positions are taken afresh).
            wanted = 2 * (len(self.text) - start)
            while len(self.text) - self.pos < wanted and self.read_more():
                pass


def elements(path: Path, *, read_bytes: int = READ_BYTES) -> Iterator[object]:
    """The elements of the JSON array in ``path``, one at a time.

    Raises NotAnArray (with line and column) when the file is not exactly one JSON array,
    and NotUtf8 when it is not UTF-8 text; elements before the fault have been yielded by
    then, so a caller that must not act on a broken file checks it whole first.
    """
    reader = _Reader(_text_chunks(path, read_bytes))
    if reader.peek() != "[":
        raise reader.fail("expected '['")
    reader.pos += 1
    if reader.peek() == "]":
        reader.pos += 1
    else:
        number = 0
        while True:
            if reader.peek() == "":
                raise reader.fail("the array is never closed")
            number += 1
            yield reader.value(number)
            following = reader.peek()
            if following == "]":
                reader.pos += 1
                break
            if following != ",":
                raise reader.fail(
                    "expected ',' or ']' after an item" if following else "the array is never closed"
                )
            reader.pos += 1
    if reader.peek() != "":
        raise reader.fail("extra data after the array")
