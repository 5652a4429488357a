"""Benchmark the NOC mapper against a plain TF-IDF baseline on a labelled JSON Lines file.

    uv run python benchmarks/mapper_benchmark.py                       # dev set, promoted model
    uv run python benchmarks/mapper_benchmark.py --data my_set.jsonl   # any file of the dev-set shape
    uv run python benchmarks/mapper_benchmark.py --train               # retrain first (timed)

Reports, in one run: top-1, top-5, expected calibration error of the top-1 confidence,
per-source top-1, batch items/s (model loaded), single-query p50/p99 latency, model load time
(fresh process, imports included) and training time — for nocfit and for the baseline (TF-IDF
cosine between the query and one document per unit group). Needs a refreshed warehouse
(NOCFIT_WAREHOUSE) for the official texts; writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mapper.corpus import NocCorpus  # noqa: E402
from mapper.evaluate import LabelledItem, rank_items, read_labelled, score, top1_hits  # noqa: E402
from mapper.model import MapperModel  # noqa: E402
from nocfit import config  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "bench" / "noc_dev.jsonl"
#: Our own check that duties outvote a contradicting title (see data/examples/README.md).
CONFLICTS = ROOT / "data" / "examples" / "title_duty_conflicts.jsonl"


def benchmark_arguments(doc: str, *, model: bool = True) -> argparse.ArgumentParser:
    """A parser with the options every mapper benchmark takes: --data, --model, --results."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="labelled JSON Lines (dev-set shape)")
    if model:
        parser.add_argument("--model", help="model file (default: the promoted model)")
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "results"), help="where to write JSON")
    return parser


def model_path(args: argparse.Namespace) -> Path:
    """The --model file (absolute: the load timer runs in another folder), or the promoted model."""
    return Path(args.model).resolve() if args.model else config.models_dir() / "current.pkl"


def labelled_items(path: str | Path) -> list[LabelledItem]:
    """The labelled items of ``path``; a file that cannot be scored stops the run with the reason
    (no traceback), and repeated ids are named (each line is still scored)."""
    try:
        items = read_labelled(Path(path))
    except (OSError, ValueError) as exc:
        sys.exit(f"benchmark: {exc}")
    if not items:
        sys.exit(f"benchmark: no labelled items in {path}")
    repeated = sorted(i for i, n in Counter(item.id for item in items).items() if n > 1)
    if repeated:
        print(
            f"benchmark: note: {len(repeated)} id(s) on several lines, each scored: {repeated[:5]}",
            file=sys.stderr,
        )
    return items


#: The accuracy columns of a ``print_variants`` table (header, report key, format).
ACCURACY_COLUMNS = [("top-1", "top1", ".3f"), ("top-5", "top5", ".3f")]


def print_variants(variants: dict[str, dict], label: str, columns: list[tuple[str, str, str]]) -> None:
    """A Markdown table: one row per variant, one column per (header, key, format spec)."""
    width = max(len(label), *map(len, variants))
    print(f"| {label:<{width}} | " + " | ".join(header for header, _, _ in columns) + " |")
    print(
        f"|{'-' * (width + 2)}|" + "|".join("-" * (len(header) + 1) + ":" for header, _, _ in columns) + "|"
    )
    for name, row in variants.items():
        cells = [f"{row[key]:{spec}}".rjust(len(header)) for header, key, spec in columns]
        print(f"| {name:<{width}} | " + " | ".join(cells) + " |")


def write_results(report: dict, folder: str, name: str) -> None:
    """Write ``report`` as ``<folder>/<name>_<time>.json`` and say where."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    out = Path(folder) / f"{name}_{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\nfull results: {out}")


class Baseline:
    """TF-IDF cosine between the query and one document per unit group (all its official text)."""

    def __init__(self, corpus: NocCorpus) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        started = time.perf_counter()
        docs: dict[str, list[str]] = defaultdict(list)
        for code, title, kind in corpus.titles:
            if kind != "all_examples_fr":
                docs[code].append(title)
        for code, text in [*corpus.duties, *corpus.lead_statements]:
            docs[code].append(text)
        for code, unit in corpus.unit_groups.items():
            docs[code].append(unit.definition)
        self.codes = sorted(corpus.unit_groups)
        self.vectorizer = TfidfVectorizer(sublinear_tf=True)
        self.matrix = self.vectorizer.fit_transform([" ".join(docs[c]) for c in self.codes])
        self.training_seconds = time.perf_counter() - started

    def rank(self, texts: list[str]) -> tuple[list[list[str]], list[float]]:
        sims = (self.vectorizer.transform(texts) @ self.matrix.T).toarray()
        order = np.argsort(-sims, axis=1)[:, :5]
        # The baseline has no probabilities: its top cosine stands in as "confidence".
        return [[self.codes[j] for j in row] for row in order], [
            float(s[row[0]]) for s, row in zip(sims, order, strict=False)
        ]


def decided_by_duties(model, conflicts: list[LabelledItem]) -> int:
    """How many title/duty conflict queries the model codes by their duties (its top-1)."""
    rankings, _ = rank_items(model, conflicts)
    return sum(top1_hits(rankings, conflicts))


def ece_uncertainty(confidences: list[float], correct: list[bool], draws: int = 2000) -> dict:
    """How much of the ECE is sampling noise: the ECE a perfectly calibrated model with these
    confidences would show (outcomes drawn from them), and a bootstrap interval of ours."""
    from mapper.calibrate import expected_calibration_error

    conf, hits = np.asarray(confidences), np.asarray(correct, dtype=float)
    rng = np.random.default_rng(0)
    floor = [expected_calibration_error(conf, rng.random(len(conf)) < conf) for _ in range(draws)]
    boot = []
    for _ in range(draws):
        idx = rng.integers(0, len(conf), len(conf))
        boot.append(expected_calibration_error(conf[idx], hits[idx]))
    return {
        "ece_if_perfectly_calibrated_median": round(float(np.median(floor)), 3),
        "ece_if_perfectly_calibrated_p90": round(float(np.quantile(floor, 0.9)), 3),
        "ece_bootstrap_90": [round(float(x), 3) for x in np.quantile(boot, [0.05, 0.95])],
    }


def _load_time(path: Path, repeats: int = 3) -> float:
    code = (
        "import time; t = time.perf_counter(); from pathlib import Path; "
        f"from mapper.model import MapperModel; MapperModel.load(Path({str(path)!r})); print(time.perf_counter() - t)"
    )
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(repeats)
    ]
    return statistics.median(times)


def _latencies(fn, queries: list[tuple[str, str]]) -> tuple[float, float]:
    times = []
    for title, duties in queries:
        started = time.perf_counter()
        fn(title, duties)
        times.append(time.perf_counter() - started)
    times.sort()
    return times[len(times) // 2] * 1000, times[min(len(times) - 1, int(len(times) * 0.99))] * 1000


def distinct_queries(
    corpus: NocCorpus, items: list[LabelledItem], n: int, seed: int = 0
) -> list[tuple[str, str]]:
    """The labelled queries plus distinct official titles (some in capitals, some with a duty):
    a batch of realistic, all-different inputs, so caches do not flatter the throughput."""
    rng = random.Random(seed)
    titles = [t for _, t, kind in corpus.titles if kind in {"index", "example", "all_examples_en"}]
    duties = [d for _, d in corpus.duties]
    queries = list(dict.fromkeys((i.title, i.duties) for i in items))
    seen = set(queries)
    while len(queries) < n:
        title = rng.choice(titles)
        query = (
            title.upper() if rng.random() < 0.3 else title,
            rng.choice(duties) if rng.random() < 0.3 else "",
        )
        if query not in seen:
            seen.add(query)
            queries.append(query)
    return queries


def clear_caches(model=None) -> None:
    """Forget what the mapper memoised, as in a fresh process (the baseline memoises nothing)."""
    if model is not None:
        model.clear_caches()


def _throughput(fn, batch: list[tuple[str, str]], model=None) -> float:
    clear_caches(model)
    started = time.perf_counter()
    fn(batch)
    return len(batch) / (time.perf_counter() - started)


def _parallel_throughput(model, batch: list[tuple[str, str]]) -> float:
    """Items/s of `nocfit map --input` style batch mapping: chunks over two forked processes."""
    from nocfit.map_command import CHUNK, ParallelMapper

    chunks = [batch[k : k + CHUNK] for k in range(0, len(batch), CHUNK)]
    clear_caches(model)
    with ParallelMapper(model, workers=2) as mapper:
        started = time.perf_counter()
        mapper.map_chunks(chunks, top_k=5, evidence=False)
        return len(batch) / (time.perf_counter() - started)


def run(args: argparse.Namespace) -> dict:
    from warehouse.connection import connect

    items: list[LabelledItem] = labelled_items(args.data)
    queries = [(i.title, i.duties) for i in items]
    with connect() as con:
        corpus = NocCorpus.from_duckdb(con)

    path = model_path(args)
    if args.train:
        from mapper.train import train

        model = train(corpus, log=lambda m: print(f"  train: {m}", file=sys.stderr))
        path = Path(args.results) / "benchmark_model.pkl"
        model.save(path)
    model = MapperModel.load(path)
    unknown = sorted({i.code for i in items} - set(model.codes))
    if unknown:  # scored as misses: no model can suggest them
        print(
            f"benchmark: note: labels that are no NOC 2021 unit group, scored as misses: {unknown[:10]}",
            file=sys.stderr,
        )

    report: dict = {
        "data": str(args.data),
        "items": len(items),
        "model": str(path),
        "unknown_labels": unknown,
    }
    rankings, confidences = rank_items(model, items)
    ours = score(rankings, confidences, items).as_dict()
    ours |= ece_uncertainty(confidences, top1_hits(rankings, items))
    batch = distinct_queries(corpus, items, args.batch_items)
    ours |= {
        "training_seconds": model.metadata.get("training_seconds"),
        "load_seconds": round(_load_time(path), 3),
        "batch_items": len(batch),
        "batch_items_per_second": round(
            _throughput(lambda b: model.map_batch(b, evidence=False), batch, model)
        ),
        "batch_items_per_second_2_processes": round(_parallel_throughput(model, batch)),
        "batch_items_per_second_with_evidence": round(
            _throughput(lambda b: model.map_batch(b, evidence=True), batch[: len(batch) // 4], model)
        ),
    }
    clear_caches(model)
    ours["p50_ms"], ours["p99_ms"] = (round(x, 2) for x in _latencies(model.map, queries))
    report["nocfit"] = ours

    baseline = Baseline(corpus)
    texts = [f"{t} {d}".strip() for t, d in queries]
    ranked, conf = baseline.rank(texts)
    base = score(ranked, conf, items).as_dict()
    base |= {
        "training_seconds": round(baseline.training_seconds, 1),
        "load_seconds": None,
        "batch_items_per_second": round(
            _throughput(lambda b: baseline.rank([f"{t} {d}" for t, d in b]), batch)
        ),
    }
    base["p50_ms"], base["p99_ms"] = (
        round(x, 2) for x in _latencies(lambda t, d: baseline.rank([f"{t} {d}"]), queries)
    )
    base["ece"] = None  # cosine is not a probability
    report["baseline_tfidf"] = base
    if args.conflicts:
        conflicts = labelled_items(args.conflicts)
        report["title_duty_conflicts"] = {
            "items": len(conflicts),
            "decided_by_duties": decided_by_duties(model, conflicts),
        }
    return report


def print_report(report: dict) -> None:
    ours, base = report["nocfit"], report["baseline_tfidf"]
    rows = [
        ("top-1", "top1", "{:.3f}"),
        ("top-5", "top5", "{:.3f}"),
        ("ECE (top-1 confidence)", "ece", "{:.3f}"),
        ("mean top-1 confidence", "mean_confidence", "{:.3f}"),
        ("batch items/s, 1 process", "batch_items_per_second", "{:,}"),
        ("batch items/s, 2 processes", "batch_items_per_second_2_processes", "{:,}"),
        ("single query p50 ms", "p50_ms", "{:.2f}"),
        ("single query p99 ms", "p99_ms", "{:.2f}"),
        ("model load s (fresh process)", "load_seconds", "{:.2f}"),
        ("training s", "training_seconds", "{:.1f}"),
    ]

    def fmt(value, pattern: str) -> str:
        return "n/a" if value is None else pattern.format(value)

    print(f"\n{report['items']} items from {report['data']}\n")
    print(f"| {'metric':<30} | {'nocfit':>10} | {'baseline TF-IDF':>15} |")
    print(f"|{'-' * 32}|{'-' * 12}:|{'-' * 17}:|")
    for label, key, pattern in rows:
        theirs = None if key == "mean_confidence" else base.get(key)  # a cosine, not a probability
        print(f"| {label:<30} | {fmt(ours.get(key), pattern):>10} | {fmt(theirs, pattern):>15} |")
    print(
        f"| {'batch items/s with evidence':<30} | {fmt(ours['batch_items_per_second_with_evidence'], '{:,}'):>10} | {'':>15} |"
    )
    print(
        f"\nECE noise: a perfectly calibrated model would show {ours['ece_if_perfectly_calibrated_median']:.3f} "
        f"(90th percentile {ours['ece_if_perfectly_calibrated_p90']:.3f}) on this many items; "
        f"bootstrap 90% interval of ours: {ours['ece_bootstrap_90']}"
    )
    print("\nper-source top-1 (items): nocfit / baseline")
    for source, numbers in ours["per_source"].items():
        other = base["per_source"].get(source, {})
        print(f"  {source:<36} ({numbers['items']:>3})  {numbers['top1']:.3f} / {other.get('top1', 0):.3f}")
    if "title_duty_conflicts" in report:
        conflicts = report["title_duty_conflicts"]
        print(
            f"\ntitle/duty conflicts decided by the duties: {conflicts['decided_by_duties']} of {conflicts['items']}"
        )


def main() -> int:
    parser = benchmark_arguments(__doc__)
    parser.add_argument("--train", action="store_true", help="train a fresh model first (timed)")
    parser.add_argument(
        "--conflicts", default=str(CONFLICTS), help="title/duty conflict queries ('' to skip)"
    )
    parser.add_argument(
        "--batch-items", type=int, default=5000, help="distinct items for the throughput measurement"
    )
    args = parser.parse_args()
    report = run(args)
    print_report(report)
    write_results(report, args.results, "mapper")
    return 0


if __name__ == "__main__":
    sys.exit(main())
