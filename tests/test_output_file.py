"""Result files: bad paths fail before the work; a failed write leaves nothing behind."""

from __future__ import annotations

import pytest

from nocfit.output_file import OutputPathError, check_output_path, written_whole


def test_a_folder_a_path_under_a_file_and_the_input_itself_are_refused(tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(OutputPathError, match="is a folder"):
        check_output_path(tmp_path)
    with pytest.raises(OutputPathError, match="a_file is a file, not a folder"):
        check_output_path(tmp_path / "a_file" / "deeper" / "out.jsonl")
    with pytest.raises(OutputPathError, match="is the input file"):
        check_output_path(tmp_path / "." / "a_file", input_path=tmp_path / "a_file")
    check_output_path(tmp_path / "new" / "folders" / "out.jsonl")  # created when written


def test_written_whole_creates_folders_and_replaces_only_on_success(tmp_path):
    path = tmp_path / "new" / "out.jsonl"
    with written_whole(path) as out:
        out.write("first\n")
    assert path.read_text() == "first\n"
    with pytest.raises(RuntimeError), written_whole(path) as out:
        out.write("half of the second")
        raise RuntimeError("interrupted")
    assert path.read_text() == "first\n"  # the old file is kept whole
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.jsonl"]  # no .part left


def test_written_whole_refuses_a_folder_before_writing(tmp_path):
    with pytest.raises(OutputPathError), written_whole(tmp_path):
        pytest.fail("the block must not run")
    assert list(tmp_path.iterdir()) == []
