"""Train the mapper from the official NOC corpus alone.

1. Hold out part of the official data: a share of each unit group's titles and main duties.
2. Build the indexes and the classifier from the rest, and turn the held-out items into
   queries shaped like real input (a title, duties, or both; most titles without their NOC
   industry qualifier, which may come back as the "industry" a respondent names; some
   titles roughened the way people write them: a bare role word such as "manager",
   abbreviations, seniority words, typos, capitals).
3. Fit the fusion model on part of those queries and its calibration on the others.
4. Rebuild the indexes and classifier from all the data; keep the fusion and calibration.

Benchmark items are never used here.
"""

from __future__ import annotations

import functools
import platform
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from mapper.calibrate import Fusion
from mapper.classifier import TextClassifier
from mapper.corpus import NocCorpus, acronym_titles, french_gender_forms
from mapper.english import EnglishWords
from mapper.index import RESPELL_MIN_LENGTH, CodeDocuments, DutyIndex, TitleIndex, strip_qualifier
from mapper.model import FORMAT_VERSION, MapperModel
from mapper.normalize import normalize_text, normalize_title
from mapper.signals import Parts, candidate_features, compute_signals, prepare

#: Bump when training changes in a way that should retrain an unchanged corpus.
TRAINER_VERSION = "8"  # 8: swaps, four-letter words and word pairs in respelling
HELD_OUT_TITLES = 0.3
HELD_OUT_DUTIES = 0.25
#: Title kinds that may be held out (canonical names always stay in the index).
HOLDABLE_KINDS = frozenset({"index", "example", "inclusion", "all_examples_en"})
NEAR_DUPLICATE_JACCARD = 0.5
#: Share of unit groups that also get a query whose title contradicts its (substantial) duties.
CONFLICT_SHARE = 1.0
#: Share of those contradicting titles that are official titles still in the index.
CONFLICT_KNOWN_TITLE = 0.5
#: One query in this many (per unit group) is a title that stays in the index.
KNOWN_TITLE_RATIO = 4
#: Share of qualified titles ("cook - Canadian Armed Forces") shown without the qualifier.
DROP_QUALIFIER = 0.7
#: Share of roughened titles cut to their role word ("purchasing manager" -> "manager"): people
#: write bare "Manager" or "Teacher", and the fusion must learn how little that says.
VAGUE_TITLE_SHARE = 0.1

_ROUGH_ABBREVIATIONS = {
    "senior": "sr",
    "junior": "jr",
    "manager": "mgr",
    "assistant": "asst",
    "technician": "tech",
    "engineer": "eng",
    "administrative": "admin",
    "administrator": "admin",
    "representative": "rep",
    "supervisor": "supv",
    "coordinator": "coord",
    "developer": "dev",
    "department": "dept",
}
_DECORATIONS = ["senior", "junior", "lead", "II", "III", "(contract)", "- full time", "trainee", "head"]


@dataclass
class Query:
    title: str
    duties: str
    code: int


def _roughen(title: str, rng: random.Random, role_heads: frozenset[str] = frozenset()) -> str:
    """A title as people write it: a bare role word, abbreviations, seniority words, a typo, capitals."""
    normalised = normalize_title(strip_qualifier(title)).split()
    if len(normalised) >= 2 and rng.random() < VAGUE_TITLE_SHARE and normalised[-1] in role_heads:
        return normalised[-1]
    words = title.split()
    if rng.random() < 0.35:
        words = [_ROUGH_ABBREVIATIONS.get(w.lower(), w) for w in words]
    if rng.random() < 0.3:
        decoration = rng.choice(_DECORATIONS)
        words = (
            [decoration, *words] if decoration[0].isalpha() and rng.random() < 0.5 else [*words, decoration]
        )
    if rng.random() < 0.25 and words:
        k = rng.randrange(len(words))
        w = words[k]
        if len(w) >= 5:
            p = rng.randrange(1, len(w) - 1)
            words[k] = w[:p] + w[p + 1 :] if rng.random() < 0.5 else w[:p] + w[p + 1] + w[p] + w[p + 2 :]
    if rng.random() < 0.15 and len(words) >= 3:
        del words[rng.randrange(len(words))]
    text = " ".join(words)
    return text.upper() if rng.random() < 0.3 else text


def _drop_qualifier(title: str, rng: random.Random) -> tuple[str, str]:
    """(title, qualifier): usually the title without its NOC industry qualifier, as people write it.

    "Guest service representative - hotel" is written "Guest service representative"; the
    qualifier is returned so it can play the part of the industry a respondent names.
    """
    bare = strip_qualifier(title)
    if bare == title or rng.random() >= DROP_QUALIFIER:
        return title, ""
    qualifier = title[len(bare) :].strip(" -–()")
    return bare, "" if qualifier.lower().startswith(("except", "other than", "non-")) else qualifier


def _tokens(normalised: str) -> frozenset[str]:
    return frozenset(normalised.split())


def _similar(a: frozenset[str], b: frozenset[str]) -> bool:
    return len(a & b) / max(len(a | b), 1) >= NEAR_DUPLICATE_JACCARD


def split_corpus(corpus: NocCorpus, rng: random.Random):
    """(training corpus, held-out titles per code, held-out duties per code).

    A held-out title takes its near-duplicates in the same unit group with it (shared words
    >= NEAR_DUPLICATE_JACCARD), so queries are as novel to the index as real input is.
    """
    by_code: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for code, title, kind in corpus.titles:
        by_code[code][normalize_title(title)].append((title, kind))
    held_titles: dict[str, list[str]] = defaultdict(list)
    held_keys: set[tuple[str, str]] = set()
    for code, groups in sorted(by_code.items()):
        holdable = sorted(
            n for n, items in groups.items() if n and all(k in HOLDABLE_KINDS for _, k in items)
        )
        rng.shuffle(holdable)
        budget = int(len(holdable) * HELD_OUT_TITLES)
        tokens = {n: _tokens(n) for n in holdable}
        for seed_title in holdable:
            if len(held_titles.get(code, ())) >= budget:  # one held title per held key of code
                break
            if (code, seed_title) in held_keys:
                continue
            for norm in holdable:
                if (code, norm) not in held_keys and _similar(tokens[seed_title], tokens[norm]):
                    held_keys.add((code, norm))
                    held_titles[code].append(groups[norm][0][0])
    duties_by_code: dict[str, list[str]] = defaultdict(list)
    for code, duty in corpus.duties:
        duties_by_code[code].append(duty)
    held_duties: dict[str, list[str]] = defaultdict(list)
    kept_duties = []
    for code, items in sorted(duties_by_code.items()):
        items = items[:]
        rng.shuffle(items)
        n_out = int(len(items) * HELD_OUT_DUTIES) if len(items) >= 4 else 0
        held_duties[code] = items[:n_out]
        kept_duties += [(code, d) for d in items[n_out:]]
    train = NocCorpus(
        unit_groups=corpus.unit_groups,
        titles=[t for t in corpus.titles if (t[0], normalize_title(t[1])) not in held_keys],
        duties=kept_duties,
        lead_statements=corpus.lead_statements,
        workplaces=corpus.workplaces,
    )
    return train, held_titles, held_duties


def make_queries(
    held_titles: dict[str, list[str]],
    held_duties: dict[str, list[str]],
    workplaces: dict[str, list[str]],
    codes: list[str],
    rng: random.Random,
    known_titles: dict[str, list[str]] | None = None,
    role_heads: frozenset[str] = frozenset(),
) -> list[Query]:
    """Queries shaped like real input from the held-out titles and duties.

    Titles alone, titles with a few duty lines, titles with a workplace as the "industry"
    (how survey answers look), and bundles of duty lines alone. ``known_titles`` adds some
    titles that *are* in the index (real input often is an official title verbatim), so the
    fusion learns what an exact match is worth. ``role_heads`` are the words a title may be
    cut to (TitleIndex.role_heads).
    """
    position = {c: i for i, c in enumerate(codes)}
    all_places = [p for ps in workplaces.values() for p in ps] or [""]
    queries = []
    for code in codes:
        duties = held_duties.get(code, [])
        places = workplaces.get(code, [])
        titles = list(held_titles.get(code, []))
        known = (known_titles or {}).get(code, [])
        if known:
            titles += rng.sample(known, k=min(len(known), max(1, len(titles) // KNOWN_TITLE_RATIO)))
        for title in titles:
            title, qualifier = _drop_qualifier(title, rng)
            shown = _roughen(title, rng, role_heads) if rng.random() < 0.5 else title
            draw = rng.random()
            if duties and draw < 0.2:
                # As many lines as the contradicting queries below may have, so the number of
                # duty lines alone never says "the title is wrong".
                picked = rng.sample(duties, k=min(len(duties), rng.randint(1, 5)))
                queries.append(Query(shown, ". ".join(picked), position[code]))
            elif draw < 0.4:
                # Survey answers give an industry: sometimes telling (the qualifier people leave
                # out of the title, a workplace), often generic or unrelated.
                if qualifier and rng.random() < 0.5:
                    industry = qualifier
                else:
                    industry = rng.choice(places if places and rng.random() < 0.5 else all_places)
                queries.append(Query(shown, industry, position[code]))
            else:
                queries.append(Query(shown, "", position[code]))
        if len(duties) >= 2:
            for _ in range(2):
                picked = rng.sample(duties, k=min(len(duties), rng.randint(2, 5)))
                queries.append(Query("", ". ".join(picked), position[code]))
            if rng.random() < CONFLICT_SHARE:
                # Duties decide: a title from another unit group over this group's duties is
                # labelled with the duties' group, as an officer would code it -- also when the
                # title is an official one (an exact index match must not outvote the duties).
                other = rng.choice(codes)
                pool = (known_titles or {}).get(other) if rng.random() < CONFLICT_KNOWN_TITLE else None
                pool = pool or held_titles.get(other)
                if other != code and pool:
                    picked = rng.sample(duties, k=min(len(duties), rng.randint(3, 5)))
                    queries.append(Query(rng.choice(pool), ". ".join(picked), position[code]))
    rng.shuffle(queries)
    return queries


@functools.cache
def _english_words() -> EnglishWords:
    """wordfreq's levels, read once a process: a training builds its parts twice (held-out split
    and final), and the levels do not depend on the corpus."""
    return EnglishWords.from_wordfreq(RESPELL_MIN_LENGTH)


def build_parts(corpus: NocCorpus, codes: list[str], seed: int) -> Parts:
    """Indexes and classifier from a corpus."""
    position = {c: i for i, c in enumerate(codes)}
    other_texts = [
        *(d for _, d in corpus.duties),
        *(s for _, s in corpus.lead_statements),
        *(u.definition for u in corpus.unit_groups.values()),
    ]
    # French pairs are also indexed as the two titles people write; only the title index reads
    # them (the classifier's character n-grams are mostly English, and stay so).
    forms = [
        (c, f) for c, t, kind in corpus.titles if kind == "all_examples_fr" for f in french_gender_forms(t)
    ]
    # ... and titles with an official acronym as the acronym people write ('CAD technician', 'RMT').
    english = [(c, t) for c, t, kind in corpus.titles if kind != "all_examples_fr"]
    # Words titles write in lower case ('pet groomer'), not as capitals ('CAD/CAM programmer').
    title_words = {
        w.lower() for _, t, _ in corpus.titles for w in re.findall(r"[^\W\d_]+", t) if not w.isupper()
    }
    titles = TitleIndex.build(
        [*((c, t) for c, t, _ in corpus.titles), *forms, *acronym_titles(english, title_words)],
        codes,
        other_texts,
        english_titles=[t for _, t in english],
        english=_english_words(),
    )
    duties = DutyIndex.build(corpus.duties, codes)
    documents_text: dict[str, list[str]] = defaultdict(list)
    for code, title, kind in corpus.titles:
        if kind != "all_examples_fr":
            documents_text[code].append(normalize_text(title))
    # Duty-like text is read as queries' duties are (DutyIndex.read); titles as written.
    for code, text in [*corpus.duties, *corpus.lead_statements, *corpus.workplaces]:
        documents_text[code].append(duties.read(text))
    for code, unit in corpus.unit_groups.items():
        documents_text[code].append(duties.read(unit.definition))
    documents = CodeDocuments.build([" . ".join(documents_text[c]) for c in codes])
    texts, labels, seen = [], [], set()

    def add(text: str, code: str) -> None:
        key = (text, code)
        if text and key not in seen:
            seen.add(key)
            texts.append(text)
            labels.append(position[code])

    for code, title, _ in corpus.titles:
        add(normalize_title(title), code)
    for code, duty in corpus.duties:
        add(duties.read(duty), code)
    for code, statement in corpus.lead_statements:
        add(duties.read(statement), code)
    for code, unit in corpus.unit_groups.items():
        add(duties.read(unit.definition), code)
        add(normalize_title(unit.title), code)
    classifier = TextClassifier.fit(texts, labels, len(codes), seed=seed)
    class_titles = [normalize_title(corpus.unit_groups[c].title) for c in codes]
    return Parts(
        titles,
        duties,
        documents,
        classifier,
        teer=np.asarray([corpus.unit_groups[c].teer for c in codes], dtype=np.float32),
        is_manager=np.asarray([" manager" in f" {t}" for t in class_titles], dtype=np.float32),
        is_supervisor=np.asarray(
            [bool(set(t.split()) & {"supervisor", "contractor"}) for t in class_titles], dtype=np.float32
        ),
        minor_group=np.unique([c[:4] for c in codes], return_inverse=True)[1].astype(np.int64),
    )


@dataclass
class FusionData:
    """What the fusion is fitted on: synthetic queries from held-out official data, featurised
    with parts built from the rest (steps 1 and 2 of the module docstring)."""

    parts: Parts  # built from the corpus without the held-out titles and duties
    queries: list[Query]
    cand_lists: list[np.ndarray]
    features: np.ndarray
    truth: list[int]  # position of the right code among each query's candidates, or -1
    fit_mask: np.ndarray  # queries that fit the scorer; the others calibrate it

    @property
    def sizes(self) -> list[int]:
        return [len(c) for c in self.cand_lists]


def fusion_data(
    corpus: NocCorpus,
    *,
    seed: int = 0,
    max_fusion_queries: int = 12_000,
    log: Callable[[str], None] = lambda message: None,
) -> FusionData:
    """Hold out official data, build parts from the rest and featurise queries made of it."""
    started = time.perf_counter()
    rng = random.Random(seed)
    codes = sorted(corpus.unit_groups)
    train_corpus, held_titles, held_duties = split_corpus(corpus, rng)
    places: dict[str, list[str]] = defaultdict(list)
    for code, place in corpus.workplaces:
        places[code].append(place)
    known: dict[str, list[str]] = defaultdict(list)
    for code, title, kind in train_corpus.titles:
        if kind in HOLDABLE_KINDS:
            known[code].append(title)
    log(
        f"held out {sum(map(len, held_titles.values()))} titles and {sum(map(len, held_duties.values()))} duties"
    )
    parts = build_parts(train_corpus, codes, seed)
    queries = make_queries(held_titles, held_duties, places, codes, rng, known, parts.titles.role_heads)[
        :max_fusion_queries
    ]
    log(f"trained split models in {time.perf_counter() - started:.0f}s; featurising {len(queries)} queries")
    prepared = [prepare(q.title, q.duties, parts.titles, parts.duties) for q in queries]
    signals = compute_signals(prepared, parts)
    cand_lists, features = candidate_features(prepared, signals, parts)
    truth = [
        int(np.flatnonzero(c == q.code)[0]) if q.code in c else -1
        for c, q in zip(cand_lists, queries, strict=True)
    ]
    fit_mask = np.asarray([i % 3 != 0 for i in range(len(queries))])
    return FusionData(parts, queries, cand_lists, features, truth, fit_mask)


def train(
    corpus: NocCorpus,
    *,
    seed: int = 0,
    max_fusion_queries: int = 12_000,
    log: Callable[[str], None] = lambda message: None,
) -> MapperModel:
    """Train a MapperModel from the official corpus; logs progress through ``log``."""
    import sklearn

    started = time.perf_counter()
    codes = sorted(corpus.unit_groups)
    data = fusion_data(corpus, seed=seed, max_fusion_queries=max_fusion_queries, log=log)
    fusion = Fusion.fit(data.features, data.sizes, data.truth, data.fit_mask, seed=seed)
    log(f"fusion fitted (temperature {fusion.temperature:.2f}, candidate coverage {fusion.coverage:.3f})")
    held_metrics = held_out_metrics(fusion, data)
    parts = build_parts(corpus, codes, seed)
    seconds = time.perf_counter() - started
    log(f"final models trained; total {seconds:.0f}s")
    metadata = {
        "format": FORMAT_VERSION,
        "trainer_version": TRAINER_VERSION,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_seconds": round(seconds, 1),
        "noc_version": "NOC 2021 V1.0",
        "source_fingerprint": corpus.source_fingerprint,
        "seed": seed,
        "corpus": {
            "unit_groups": len(codes),
            "titles": len(corpus.titles),
            "duties": len(corpus.duties),
            "lead_statements": len(corpus.lead_statements),
        },
        "held_out": held_metrics,
        "libraries": _library_versions(sklearn.__version__),
    }
    return MapperModel(
        codes=codes,
        code_titles=[corpus.unit_groups[c].title for c in codes],
        code_teer=[corpus.unit_groups[c].teer for c in codes],
        parts=parts,
        fusion=fusion,
        metadata=metadata,
    )


def held_out_metrics(fusion: Fusion, data: FusionData) -> dict:
    """Top-1 / ECE on the calibration queries (held-out official data, not the benchmark)."""
    from mapper.calibrate import expected_calibration_error

    dists = fusion.distributions(data.features, data.sizes, agreement=1.0)
    conf, correct, in_top5 = [], [], []
    for i, dist in enumerate(dists):
        if data.fit_mask[i] or not len(dist):
            continue
        ranked = np.argsort(-dist, kind="stable")
        best = int(ranked[0])
        conf.append(float(dist[best]))
        correct.append(data.truth[i] == best)
        in_top5.append(data.truth[i] in ranked[:5])
    return {
        "queries": len(conf),
        "top1": round(float(np.mean(correct)), 4) if conf else None,
        "top5": round(float(np.mean(in_top5)), 4) if conf else None,
        "ece": round(expected_calibration_error(np.asarray(conf), np.asarray(correct)), 4) if conf else None,
    }


def _library_versions(sklearn_version: str) -> dict[str, str]:
    from importlib.metadata import version

    import rapidfuzz
    import scipy

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn_version,
        "rapidfuzz": rapidfuzz.__version__,
        "wordfreq": version("wordfreq"),
    }
