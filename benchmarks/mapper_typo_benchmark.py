"""How the mapper copes with misspelt titles: the labelled titles as written, with one word
misspelt, and with every word misspelt (one random edit per word of four letters or more:
a letter dropped, two neighbours swapped or a letter replaced; duties left as written).

    uv run python benchmarks/mapper_typo_benchmark.py                 # dev set, promoted model
    uv run python benchmarks/mapper_typo_benchmark.py --seeds 0 1 2   # several draws of typos
    uv run python benchmarks/mapper_typo_benchmark.py --models /tmp/models --seeds 0 1 2
        # every model that mapper_seed_spread.py --save wrote there: means over models and draws

Reports top-1, top-5, mean top-1 confidence, the share of titles that were respelt
(``Mapping.title_read_as``) and the share read exactly as the title before its typos ("read
back": what the respelling got right) for each variant. Needs a refreshed data folder
(NOCFIT_DATA).
"""

from __future__ import annotations

import random
import string
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.mapper_benchmark import (  # noqa: E402
    ACCURACY_COLUMNS,
    benchmark_arguments,
    labelled_items,
    model_path,
    print_variants,
    write_results,
)
from mapper.evaluate import LabelledItem, top1_hits  # noqa: E402
from mapper.model import MapperModel  # noqa: E402

MIN_LETTERS = 4


def misspell_word(word: str, rng: random.Random) -> str:
    """One edit inside the word (its first letter kept, as in most real typos)."""
    k = rng.randrange(1, len(word) - 1)
    edit = rng.choice(("drop", "swap", "replace"))
    if edit == "drop":
        return word[:k] + word[k + 1 :]
    if edit == "swap":
        return word[:k] + word[k + 1] + word[k] + word[k + 2 :]
    letter = rng.choice([c for c in string.ascii_lowercase if c != word[k].lower()])
    return word[:k] + (letter.upper() if word[k].isupper() else letter) + word[k + 1 :]


def misspell(title: str, rng: random.Random, every_word: bool) -> str:
    words = title.split(" ")
    long_words = [i for i, w in enumerate(words) if w.isalpha() and len(w) >= MIN_LETTERS]
    chosen = long_words if every_word else rng.sample(long_words, min(1, len(long_words)))
    for i in chosen:
        words[i] = misspell_word(words[i], rng)
    return " ".join(words)


def measure(
    model: MapperModel, items: list[LabelledItem], titles: list[str], duties: list[str] | None = None
) -> dict:
    """Top-1, top-5, mean confidence and its calibration error for the items mapped with these
    titles (and duties: the items' own by default), and the share of titles read as the items'
    own titles are."""
    from mapper.calibrate import expected_calibration_error
    from mapper.signals import prepare

    def reading(title: str) -> str:
        return prepare(title, "", model.parts.titles, model.parts.duties).title_norm

    duties = duties if duties is not None else [i.duties for i in items]
    mappings = model.map_batch(list(zip(titles, duties, strict=True)), evidence=False)
    codes = [[s.code for s in m.suggestions] for m in mappings]
    n = len(items)
    hits = top1_hits(codes, items)
    confidences = [m.suggestions[0].confidence if m.suggestions else 0.0 for m in mappings]
    return {
        "top1": round(sum(hits) / n, 3),
        "top5": round(sum(i.code in c[:5] for c, i in zip(codes, items, strict=True)) / n, 3),
        "mean_confidence": round(sum(confidences) / n, 3),
        "ece": round(expected_calibration_error(confidences, hits), 3),
        "respelt": round(sum(bool(getattr(m, "title_read_as", None)) for m in mappings) / n, 3),
        "read_back": round(
            sum(reading(t) == reading(i.title) for t, i in zip(titles, items, strict=True)) / n, 3
        ),
        "no_suggestion": round(sum(not m.suggestions for m in mappings) / n, 3),
    }


def variants(model: MapperModel, items: list[LabelledItem], seeds: list[int]) -> dict[str, dict]:
    """``measure`` for the titles as written and, per draw, with one and every word misspelt."""
    out = {"as written": measure(model, items, [i.title for i in items])}
    for seed in seeds:
        for every_word, name in ((False, "one word misspelt"), (True, "every word misspelt")):
            rng = random.Random(seed)
            titles = [misspell(i.title, rng, every_word) for i in items]
            out[f"{name}, seed {seed}"] = measure(model, items, titles)
    return out


def mean_variants(per_model: list[dict[str, dict]]) -> dict[str, dict]:
    """Each kind of title (as written, one word, every word misspelt): means over models and draws."""
    runs: dict[str, list[dict]] = {}
    for model_variants in per_model:
        for name, row in model_variants.items():
            runs.setdefault(name.split(",")[0], []).append(row)
    return {
        kind: {key: round(sum(r[key] for r in rows) / len(rows), 3) for key in rows[0]} | {"runs": len(rows)}
        for kind, rows in runs.items()
    }


def main() -> int:
    parser = benchmark_arguments(__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="draws of random typos")
    parser.add_argument("--models", help="a folder of models (seed-*.pkl): the means over them and the draws")
    args = parser.parse_args()
    paths = sorted(Path(args.models).glob("seed-*.pkl")) if args.models else [model_path(args)]
    if not paths:
        parser.error(f"no seed-*.pkl models in {args.models}")
    items = [i for i in labelled_items(args.data) if any(len(w) >= MIN_LETTERS for w in i.title.split())]
    report: dict = {"data": args.data, "items": len(items), "models": [str(p) for p in paths], "variants": {}}
    per_model = [variants(MapperModel.load(path), items, args.seeds) for path in paths]
    if args.models:
        report["per_model"] = per_model
        report["variants"] = mean_variants(per_model)
        print(f"means over {len(paths)} models ({args.models}) and draws {args.seeds}")
    else:
        report["variants"] = per_model[0]
    print(f"{len(items)} labelled items with a title of a word of {MIN_LETTERS}+ letters ({args.data})\n")
    print_variants(
        report["variants"],
        "titles",
        [
            *ACCURACY_COLUMNS,
            ("mean conf", "mean_confidence", ".3f"),
            ("ECE", "ece", ".3f"),
            ("respelt", "respelt", ".3f"),
            ("read back", "read_back", ".3f"),
            ("no suggestion", "no_suggestion", ".3f"),
        ],
    )
    write_results(report, args.results, "mapper_typos")
    return 0


if __name__ == "__main__":
    sys.exit(main())
