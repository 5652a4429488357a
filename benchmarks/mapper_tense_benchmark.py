"""How the mapper copes with duties in the past tense, as reference letters write them.

NOC's main duties are in the present ("Administer medications"); a reference letter says
"Administered medications". This maps the labelled duties-only items (no title: their duties are
duty statements, not an industry name) twice: as written, and with the first word of each duty
line put in the past tense (regular endings and a short list of irregular verbs). It reports
top-1 and top-5, and how well the evidence aligns the duties with the *true* code: the mean
similarity of each line to its closest main duty of that code, and the share of that code's
main duties the lines cover. Then, with no labels, it puts NOC's own main duties in the past
tense and reports how similar each stays to itself (all of them, and those whose first word is
an irregular verb, which the dev items lack).

    uv run python benchmarks/mapper_tense_benchmark.py                       # promoted model
    uv run python benchmarks/mapper_tense_benchmark.py --model other.pkl     # another model

Needs a refreshed data folder (NOCFIT_DATA). The dev set has 21 such items (O*NET task
statements), a small sample: read the alignment numbers, which move with every line, before the
accuracy, which moves with whole items.
"""

from __future__ import annotations

import re
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
from benchmarks.mapper_typo_benchmark import measure  # noqa: E402
from mapper.evaluate import LabelledItem  # noqa: E402
from mapper.model import MapperModel  # noqa: E402
from mapper.normalize import split_duties  # noqa: E402
from mapper.signals import coverage  # noqa: E402

IRREGULAR = {
    "build": "built", "buy": "bought", "choose": "chose", "cut": "cut", "do": "did", "draw": "drew",
    "drive": "drove", "feed": "fed", "find": "found", "give": "gave", "hear": "heard", "hold": "held",
    "keep": "kept", "lay": "laid", "lead": "led", "make": "made", "meet": "met", "oversee": "oversaw",
    "pay": "paid", "put": "put", "read": "read", "run": "ran", "seek": "sought", "sell": "sold",
    "send": "sent", "set": "set", "speak": "spoke", "spend": "spent", "take": "took", "teach": "taught",
    "tell": "told", "think": "thought", "undertake": "undertook", "write": "wrote",
}  # fmt: skip
# A line starts a text, a new line, a sentence ('. ' and a capital, not the dots of "U.S. market"),
# a clause after ';' or a bullet after a space (the '-' inside "X-rays" starts nothing).
_LINE_START = re.compile(r"(^|\n\s*|\.\s+(?=[A-Z])|;\s*|(?<!\S)[•·▪●\-–*]\s*)([A-Za-z]+)")
#: First words that are not the duty's verb: such lines (and -ing words) are left as written.
NOT_VERBS = frozenset({"may", "and", "or", "also", "the", "a", "an", "in", "for", "with", "as", "if", "to"})


def past_tense(verb: str) -> str:
    """'Administer' -> 'Administered', 'prepare' -> 'prepared', 'apply' -> 'applied', 'lead' -> 'led'."""
    word = verb.lower()
    if word in IRREGULAR:
        past = IRREGULAR[word]
    elif word.endswith("e"):
        past = word + "d"
    elif re.search(r"[^aeiou]y$", word):
        past = word[:-1] + "ied"
    else:
        past = word + "ed"
    return past.capitalize() if verb[:1].isupper() else past


def duties_in_past_tense(text: str) -> str:
    """The first word of each sentence or bullet line put in the past tense."""
    return _LINE_START.sub(
        lambda m: (
            m.group(0)
            if m.group(2).lower() in NOT_VERBS or m.group(2).endswith("ing")
            else m.group(1) + past_tense(m.group(2))
        ),
        text,
    )


#: The two versions of every duty text the benchmark maps.
TENSES = (("as written", lambda text: text), ("past tense", duties_in_past_tense))


def alignment_with_truth(model: MapperModel, items: list[LabelledItem], duties: list[str]) -> dict:
    """Mean similarity of each duty line to the closest main duty of the item's true code, and
    the mean share of that code's main duties covered (as ``Evidence`` computes them)."""
    index = model.parts.duties
    similarities, covered = [], []
    for item, text in zip(items, duties, strict=True):
        lines = split_duties(text)
        code = model.codes.index(item.code) if item.code in model.codes else None
        if not lines or code is None or not len(index.rows_of_code[code]):
            continue
        sims = index.line_similarities(lines).toarray()
        similarities += list(sims[:, index.rows_of_code[code]].max(axis=1))
        covered.append(coverage(sims.max(axis=0), index, code))
    return {
        "lines": len(similarities),
        "mean_line_similarity_to_true_code": round(float(sum(similarities) / max(len(similarities), 1)), 3),
        "mean_coverage_of_true_code": round(float(sum(covered) / max(len(covered), 1)), 3),
    }


def official_self_alignment(model: MapperModel, irregular_only: bool, change) -> dict:
    """NOC's own main duties (all, or those whose first word is a verb of ``IRREGULAR`` with a
    past form of its own and not a stop word: 'set' and 'take' cannot change), each changed by
    ``change``: mean similarity to the unchanged duty, and the share whose closest main duty
    belongs to the same code. Official text, so no labelled item is involved."""
    import numpy as np
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    def starts_irregular(duty: str) -> bool:
        first = duty.split()[0].lower() if duty.split() else ""
        return first in IRREGULAR and IRREGULAR[first] != first and first not in ENGLISH_STOP_WORDS

    index = model.parts.duties
    rows = [r for r, duty in enumerate(index.duties) if not irregular_only or starts_irregular(duty)]
    sims = index.line_similarities([change(index.duties[r]) for r in rows])
    closest = np.asarray(sims.argmax(axis=1)).ravel()
    return {
        "lines": len(rows),
        "similarity_to_itself": round(float(np.mean([sims[k, r] for k, r in enumerate(rows)])), 3),
        "closest_of_own_code": round(float(np.mean(index.row_code[closest] == index.row_code[rows])), 3),
    }


def official_queries(model: MapperModel, per_code: int = 3, seed: int = 0) -> list[LabelledItem]:
    """Duties-only queries made of NOC's own main duties: ``per_code`` of each unit group that
    has that many (a seeded draw), labelled with that group. The model was trained on these
    texts, so the accuracy is high; what matters is how much the past tense takes away."""
    import random

    rng = random.Random(seed)
    index = model.parts.duties
    items = []
    for code, rows in zip(model.codes, index.rows_of_code, strict=True):
        if len(rows) >= per_code:
            picked = rng.sample([index.duties[r] for r in rows], per_code)
            items.append(LabelledItem(f"noc-{code}", "", ". ".join(picked), code, "noc_main_duties"))
    return items


def main() -> int:
    args = benchmark_arguments(__doc__).parse_args()
    items = [i for i in labelled_items(args.data) if i.duties.strip() and not i.title.strip()]
    model = MapperModel.load(model_path(args))
    report: dict = {"data": args.data, "model": args.model or "promoted", "items": len(items), "variants": {}}
    for name, change in TENSES:
        duties = [change(i.duties) for i in items]
        report["variants"][name] = {
            **measure(model, items, [i.title for i in items], duties),
            **alignment_with_truth(model, items, duties),
        }
    print(f"{len(items)} labelled duties-only items ({args.data})\n")
    print_variants(
        report["variants"],
        "duties",
        [
            *ACCURACY_COLUMNS,
            ("duty lines", "lines", "d"),
            ("line similarity to true code", "mean_line_similarity_to_true_code", ".3f"),
            ("coverage of true code", "mean_coverage_of_true_code", ".3f"),
        ],
    )
    queries = official_queries(model)
    report["official_queries"] = {
        name: measure(model, queries, ["" for _ in queries], [change(q.duties) for q in queries])
        for name, change in TENSES
    }
    print(f"\n{len(queries)} queries of 3 NOC main duties each, no title (no labels involved)\n")
    print_variants(
        report["official_queries"],
        "duties",
        [*ACCURACY_COLUMNS, ("mean conf", "mean_confidence", ".3f")],
    )
    report["official_main_duties"] = {
        f"{group}, {name}": official_self_alignment(model, irregular_only, change)
        for group, irregular_only in (("all", False), ("irregular verb first", True))
        for name, change in TENSES
    }
    print("\nNOC's main duties, each aligned on its own (no labels involved)\n")
    print_variants(
        report["official_main_duties"],
        "main duties",
        [
            ("lines", "lines", "d"),
            ("similarity to itself", "similarity_to_itself", ".3f"),
            ("closest duty of own code", "closest_of_own_code", ".3f"),
        ],
    )
    write_results(report, args.results, "mapper_tense")
    return 0


if __name__ == "__main__":
    sys.exit(main())
