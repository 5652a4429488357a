"""How much of a difference between two mapper models is noise: train with several seeds.

    uv run python benchmarks/mapper_seed_spread.py                  # seeds 0 1 2, dev set
    uv run python benchmarks/mapper_seed_spread.py --seeds 0 1 2 3 4 --data other.jsonl
    uv run python benchmarks/mapper_seed_spread.py --save /tmp/models   # keep the models too
    uv run python benchmarks/mapper_seed_spread.py --models /tmp/models # score saved models again

The seed decides which official titles and duties are held out, how the synthetic queries are
drawn and how the fusion networks start; the official data and the code stay the same. Each
seed costs one training (about 2 minutes on 2 cores). Reports top-1, top-5 and ECE on the
labelled file, the title/duty conflicts decided by the duties, the held-out official queries'
top-1 (from the model's metadata) and the top-1 on duties-only queries made of NOC's own main
duties (`mapper_tense_benchmark.official_queries`), per seed and their range; and the scores of
all seeds' predictions pooled, whose ECE is far less noisy than one model's on a few hundred
items (with the ECE a perfectly calibrated model would show per seed, for scale).
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
    ece_uncertainty,
    labelled_items,
    write_results,
)
from benchmarks.mapper_tense_benchmark import official_queries  # noqa: E402
from mapper.corpus import NocCorpus  # noqa: E402
from mapper.evaluate import rank_items, score, top1_hits  # noqa: E402


def main() -> int:
    parser = benchmark_arguments(__doc__, model=False)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--save", help="also save each model here as seed-<n>.pkl (for other benchmarks' --model)"
    )
    parser.add_argument("--models", help="score the models saved here by --save instead of training")
    args = parser.parse_args()

    from mapper.model import MapperModel
    from mapper.train import train
    from warehouse.connection import connect

    items = labelled_items(args.data)
    conflicts = labelled_items(CONFLICTS)
    with connect() as con:
        corpus = NocCorpus.from_duckdb(con)
    rows, pooled_rankings, pooled_confidences = [], [], []
    for seed in args.seeds:
        if args.models:
            model = MapperModel.load(Path(args.models) / f"seed-{seed}.pkl")
        else:
            print(f"training with seed {seed} ...", file=sys.stderr, flush=True)
            model = train(corpus, seed=seed)
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            model.save(Path(args.save) / f"seed-{seed}.pkl")
        rankings, confidences = rank_items(model, items)
        result = score(rankings, confidences, items)
        pooled_rankings += rankings
        pooled_confidences += confidences
        ece_floor = ece_uncertainty(confidences, top1_hits(rankings, items))[
            "ece_if_perfectly_calibrated_median"
        ]
        by_duties = decided_by_duties(model, conflicts)
        own_duties = official_queries(model)
        on_own_duties = score(*rank_items(model, own_duties), own_duties)
        held_out_top1 = model.metadata["held_out"]["top1"]
        rows.append(
            {
                "seed": seed,
                "top1": result.top1,
                "top5": result.top5,
                "ece": result.ece,
                "ece_if_perfectly_calibrated": ece_floor,
                "conflicts_decided_by_duties": by_duties,
                "held_out_official_top1": held_out_top1,
                "noc_duty_queries_top1": on_own_duties.top1,
                "training_seconds": model.metadata["training_seconds"],
            }
        )
        print(
            f"seed {seed}: top-1 {result.top1:.3f}  top-5 {result.top5:.3f}  ECE {result.ece:.3f} "
            f"(perfectly calibrated: {ece_floor:.3f})  "
            f"conflicts by duties {by_duties}/{len(conflicts)}  held-out official top-1 "
            f"{held_out_top1:.4f}  NOC-duty queries top-1 {on_own_duties.top1:.3f}",
            flush=True,
        )
    for key in ("top1", "top5", "ece", "held_out_official_top1", "noc_duty_queries_top1"):
        values = [r[key] for r in rows]
        print(f"{key}: {min(values):.3f} .. {max(values):.3f} over {len(rows)} seeds")
    pooled_items = items * len(rows)
    pooled = score(pooled_rankings, pooled_confidences, pooled_items)
    # As if the predictions were independent; they are not (each item is there once per seed),
    # so this understates how far a calibrated model's pooled ECE may stray.
    pooled_floor = ece_uncertainty(pooled_confidences, top1_hits(pooled_rankings, pooled_items))
    print(
        f"all {len(rows)} seeds pooled ({len(pooled_confidences)} predictions): top-1 {pooled.top1:.3f}  "
        f"top-5 {pooled.top5:.3f}  ECE {pooled.ece:.3f} (perfectly calibrated, were the predictions "
        f"independent: {pooled_floor['ece_if_perfectly_calibrated_median']:.3f}, 90th percentile "
        f"{pooled_floor['ece_if_perfectly_calibrated_p90']:.3f})  mean confidence {pooled.mean_confidence:.3f}"
    )
    write_results(
        {
            "data": str(args.data),
            "items": len(items),
            "seeds": rows,
            "pooled": {**pooled.as_dict(), **pooled_floor},
        },
        args.results,
        "seed_spread",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
