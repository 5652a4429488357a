"""Where the mapper's misses come from: each labelled item whose code is not the top suggestion
(or not among the top 5) is sorted by what the official titles say about it
(``mapper.evaluate.MISS_KINDS``): the title is verbatim an official title of another unit group,
the labelled group's official titles share no word with the title, there is no title, or
"other" (the only kind a better ranking could win).

    uv run python benchmarks/mapper_misses.py                # dev set, promoted model
    uv run python benchmarks/mapper_misses.py --list         # and every top-5 miss

Needs a refreshed data folder (NOCFIT_DATA).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.mapper_benchmark import (  # noqa: E402
    benchmark_arguments,
    labelled_items,
    model_path,
    print_variants,
    write_results,
)
from mapper.evaluate import MISS_KINDS, miss_kind, rank_items, true_rank  # noqa: E402
from mapper.model import MapperModel  # noqa: E402


def main() -> int:
    parser = benchmark_arguments(__doc__)
    parser.add_argument("--list", action="store_true", help="print every top-5 miss")
    args = parser.parse_args()
    items = labelled_items(args.data)
    model = MapperModel.load(model_path(args))
    rankings, confidences = rank_items(model, items)
    code_title = dict(zip(model.codes, model.code_titles, strict=True))
    misses = []
    for item, ranking, confidence in zip(items, rankings, confidences, strict=True):
        if ranking[:1] != [item.code]:
            misses.append(
                {
                    "id": item.id,
                    "title": item.title,
                    "code": item.code,
                    "kind": miss_kind(model, item),
                    "rank": true_rank(ranking, item),
                    "suggested": ranking[0] if ranking else None,
                    "confidence": confidence,
                }
            )
    top5 = [m for m in misses if m["rank"] is None]
    by_kind_top1 = Counter(m["kind"] for m in misses)
    by_kind_top5 = Counter(m["kind"] for m in top5)
    counts = {kind: {"top1": by_kind_top1[kind], "top5": by_kind_top5[kind]} for kind in MISS_KINDS}
    print(
        f"{len(items)} labelled items ({args.data}): {len(misses)} top-1 misses, {len(top5)} top-5 misses\n"
    )
    print_variants(counts, "kind", [("top-1 misses", "top1", "d"), ("top-5 misses", "top5", "d")])
    print()
    for kind, meaning in MISS_KINDS.items():
        print(f"{kind}: {meaning}")
    if args.list:
        print("\ntop-5 misses (label, then our first suggestion):")
        for m in sorted(top5, key=lambda m: (m["kind"], m["title"])):
            ours = f"{m['suggested']} {code_title.get(m['suggested'], '')[:40]} ({m['confidence']:.2f})"
            label = f"{m['code']} {code_title.get(m['code'], '?')[:40]}"
            print(f"  [{m['kind']}] {m['title'][:45] or '(duties only)'!r}: {label} | {ours}")
    report = {"data": args.data, "items": len(items), "counts": counts, "misses": misses}
    write_results(report, args.results, "mapper_misses")
    return 0


if __name__ == "__main__":
    sys.exit(main())
