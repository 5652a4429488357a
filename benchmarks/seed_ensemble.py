"""Would averaging models trained with different seeds help? Scores each model alone and every
average of 2, 3, ... of them (each code's confidence averaged, missing = 0) on a labelled file.

    uv run python benchmarks/mapper_seed_spread.py --seeds 0 1 2 3 4 --save /tmp/models
    uv run python benchmarks/seed_ensemble.py /tmp/models/seed-*.pkl

If the seeds' differences were variance, an average would beat its members; if they share
their errors, it scores like their mean. (Each member costs a training, so an average of n
would train n times: only worth it for a clear gain.)
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.mapper_benchmark import benchmark_arguments, labelled_items, write_results  # noqa: E402
from mapper.evaluate import score  # noqa: E402
from mapper.model import MapperModel  # noqa: E402

#: Codes kept per item and model: far more than top-5, so an average can lift a lower one.
DEPTH = 40


def main() -> int:
    parser = benchmark_arguments(__doc__, model=False)
    parser.add_argument("models", nargs="+", help="model files (at least two)")
    args = parser.parse_args()
    if len(args.models) < 2:
        parser.error("give at least two models")
    items = labelled_items(args.data)
    queries = [(i.title, i.duties) for i in items]
    confidences = []  # per model, per item: code -> confidence
    for path in args.models:
        model = MapperModel.load(Path(path))
        mappings = model.map_batch(queries, top_k=DEPTH, evidence=False)
        confidences.append([{s.code: s.confidence for s in m.suggestions} for m in mappings])

    def averaged(members: tuple[int, ...]) -> tuple[float, float, float]:
        rankings, top = [], []
        for k in range(len(items)):
            total: dict[str, float] = {}
            for m in members:
                for code, p in confidences[m][k].items():
                    total[code] = total.get(code, 0.0) + p / len(members)
            ranked = sorted(total, key=lambda c: -total[c])
            rankings.append(ranked)
            top.append(total[ranked[0]] if ranked else 0.0)
        result = score(rankings, top, items)
        return result.top1, result.top5, result.ece

    rows = []
    for size in range(1, len(args.models) + 1):
        scores = np.asarray([averaged(c) for c in itertools.combinations(range(len(args.models)), size)])
        mean, low, high = scores.mean(axis=0), scores.min(axis=0), scores.max(axis=0)
        rows.append({"models": size, "mean": mean.tolist(), "min": low.tolist(), "max": high.tolist()})
        print(
            f"{size} model(s), {len(scores)} combination(s): top-1 {mean[0]:.3f} ({low[0]:.3f}-{high[0]:.3f})  "
            f"top-5 {mean[1]:.3f} ({low[1]:.3f}-{high[1]:.3f})  ECE {mean[2]:.3f} ({low[2]:.3f}-{high[2]:.3f})"
        )
    write_results({"data": args.data, "models": args.models, "averages": rows}, args.results, "seed_ensemble")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
