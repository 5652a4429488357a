"""Result files of the CLI commands: checked before the work, written whole or not at all.

A bad output path is found before minutes of mapping, not after, and a failed or interrupted
write leaves neither a half-written file nor a ``.part`` file behind: candidate files hold
personal data, which must go only where the user asked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


class OutputPathError(ValueError):
    """The output path cannot be written; the message says why."""


def check_output_path(path: Path, *, input_path: Path | None = None) -> None:
    """Raise :class:`OutputPathError` if ``path`` cannot become a file (a folder, under a file,
    or the input itself)."""
    if path.is_dir():
        raise OutputPathError(f"the output {path} is a folder; give a file name")
    if input_path is not None and path.exists() and path.resolve() == input_path.resolve():
        raise OutputPathError(f"the output {path} is the input file; give another name")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputPathError(f"cannot write {path}: {parent} is a file, not a folder")
            break


def batch_exit_code(*, done: int, bad: int) -> int:
    """Exit code of a command that reads a file line by line (`nocfit map`, `nocfit fit`): 0
    when no line was bad, 3 when some were (the rest was done and written), 1 when nothing was
    done because every line was bad (and the output file was left as it was)."""
    if not bad:
        return 0
    return 3 if done else 1


@contextlib.contextmanager
def written_whole(path: Path, *, newline: str | None = None) -> Iterator[TextIO]:
    """A text stream for ``path`` (UTF-8) that replaces the file only when the block succeeds."""
    check_output_path(path)
    tmp = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = tmp.open("w", encoding="utf-8", newline=newline)
    except OSError as exc:
        raise OutputPathError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with handle:
            yield handle
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
