"""Hostile input for the mapper: any unicode, empty, huge or control-character text never crashes
and returns in bounded time — in the normaliser, the model and the `nocfit map` CLI.
(The candidate reader's property tests are in test_fit_candidates.py.)"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapper.model import MapperModel
from mapper.normalize import normalize_text, normalize_title, split_duties, split_roles

any_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=400) | st.sampled_from(
    ["", " ", "\x00\x01\x02", "\u202e\u200b\ufeff", "💼👩‍⚕️", "a" * 5000, "é" * 3000, "\r\n" * 200]
)
ONE_MB = ("Lorem ipsum dolor sit amet; manage staff. " * 25_000)[:1_000_000]


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_normaliser_total_and_bounded(text: str) -> None:
    started = time.perf_counter()
    for fn in (normalize_title, normalize_text):
        assert isinstance(fn(text), str)
    assert all(isinstance(p, str) and p for p in split_roles(text))
    assert len(split_duties(text)) <= 40
    assert time.perf_counter() - started < 0.5


@pytest.fixture(scope="module")
def model(refreshed: dict[str, str]) -> MapperModel:
    return MapperModel.load(Path(refreshed["NOCFIT_MODELS"]) / "current.pkl")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(any_text, any_text)
def test_model_never_crashes(model: MapperModel, title: str, duties: str) -> None:
    mapping = model.map(title, duties)
    confs = [s.confidence for s in mapping.suggestions]
    assert all(0.0 <= c <= 1.0 for c in confs) and confs == sorted(confs, reverse=True)
    json.dumps(mapping.to_dict())


def test_one_megabyte_of_text_is_bounded(model: MapperModel) -> None:
    started = time.perf_counter()
    mapping = model.map(ONE_MB, ONE_MB)
    assert time.perf_counter() - started < 5.0
    assert len(mapping.suggestions) <= 5


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            any_text,
            st.builds(lambda t, d: json.dumps({"id": "x", "title": t, "duties": d}), any_text, any_text),
        ),
        max_size=12,
    )
)
def test_map_cli_batch_survives_any_lines(cloned, tmp_path_factory, lines: list[str]) -> None:
    from nocfit.cli import main

    folder = tmp_path_factory.mktemp("hostile")
    source = folder / "in.jsonl"
    source.write_text("\n".join(line.replace("\n", " ") for line in lines) + "\n", encoding="utf-8")
    target = folder / "out.jsonl"
    code = main(["map", "--input", str(source), "--output", str(target), "--quiet"])
    assert code in (0, 1, 3)  # 1: every line bad, and then nothing is written
    assert target.exists() == (code != 1)
    for row in target.read_text().splitlines() if target.exists() else []:
        assert "suggestions" in json.loads(row)


def test_map_cli_single_hostile_query(cloned, capsys) -> None:
    from nocfit.cli import main

    assert main(["map", "\x00\x1b[31m\u202e🚀"]) == 0
    assert main(["map", "--title", "", "--duties", ONE_MB, "--json"]) == 0
    capsys.readouterr()
