"""How much of a difference between two mapper models is noise: train with several seeds.

    uv run python benchmarks/mapper_seed_spread.py                  # seeds 0 1 2, dev set
    uv run python benchmarks/mapper_seed_spread.py --seeds 0 1 2 3 4 --data other.jsonl

The seed decides which official titles and duties are held out, how the synthetic queries are
drawn and how the fusion networks start; the official data and the code stay the same. Each
seed costs one training (about 2 minutes on 2 cores). Reports top-1, top-5 and ECE on the
labelled file and the title/duty conflicts decided by the duties, per seed and their range.
Needs a refreshed warehouse (NOCFIT_WAREHOUSE) for the official texts.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.mapper_benchmark import (  # noqa: E402
    CONFLICTS,
    benchmark_arguments,
    decided_by_duties,
    labelled_items,
    write_results,
)
from mapper.corpus import NocCorpus  # noqa: E402
from mapper.evaluate import rank_items, score  # noqa: E402


def main() -> int:
    parser = benchmark_arguments(__doc__, model=False)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()

    from mapper.train import train
    from warehouse.connection import connect

    items = labelled_items(args.data)
    conflicts = labelled_items(CONFLICTS)
    with connect() as con:
        corpus = NocCorpus.from_duckdb(con)
    rows = []
    for seed in args.seeds:
        print(f"training with seed {seed} ...", file=sys.stderr, flush=True)
        model = train(corpus, seed=seed)
        rankings, confidences = rank_items(model, items)
        result = score(rankings, confidences, items)
        by_duties = decided_by_duties(model, conflicts)
        rows.append(
            {
                "seed": seed,
                "top1": result.top1,
                "top5": result.top5,
                "ece": result.ece,
                "conflicts_decided_by_duties": by_duties,
                "training_seconds": model.metadata["training_seconds"],
            }
        )
        print(
            f"seed {seed}: top-1 {result.top1:.3f}  top-5 {result.top5:.3f}  ECE {result.ece:.3f}  "
            f"conflicts by duties {by_duties}/{len(conflicts)}",
            flush=True,
        )
    for key in ("top1", "top5", "ece"):
        values = [r[key] for r in rows]
        print(f"{key}: {min(values):.3f} .. {max(values):.3f} over {len(rows)} seeds")
    write_results({"data": str(args.data), "items": len(items), "seeds": rows}, args.results, "seed_spread")
    return 0


if __name__ == "__main__":
    sys.exit(main())
