"""The trained mapper: one typed result per suggestion, and save/load with its provenance."""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mapper import normalize
from mapper.calibrate import Fusion
from mapper.explain import aligned_line_similarities, explain
from mapper.results import Evidence, Mapping, Suggestion
from mapper.signals import Parts, Prepared, candidate_features, compute_signals, prepare

FORMAT_VERSION = 2  # 2: Parts gained minor_group and TitleIndex role_heads
#: Duties need this many lines, or one line of this many words, before they can contradict a
#: title: a survey's one-line industry ("Hospital") must not, but a reference letter's duties
#: written as one paragraph must.
DISAGREEMENT_MIN_LINES = 2
DISAGREEMENT_MIN_WORDS = 12
#: Queries whose signals are computed together: the title similarities are a (queries x
#: 109,000 title rows) sparse matrix, and French titles share 'de' and 'la' with half the rows.
SIGNAL_BATCH = 1000
#: Top-1 and top-2 closer than this (in probability) are flagged as ambiguous.
AMBIGUITY_MARGIN = 0.15


class ModelError(RuntimeError):
    """A model file is missing, corrupt or from an incompatible version."""


@dataclass
class MapperModel:
    codes: list[str]
    code_titles: list[str]
    code_teer: list[int]
    parts: Parts
    fusion: Fusion
    metadata: dict

    # ---------------------------------------------------------------- mapping
    def clear_caches(self) -> None:
        """Forget every memoised normalisation and n-gram lookup, as in a fresh process."""
        normalize.clear_caches()
        parts = self.parts
        parts.titles.clear_cache()
        parts.duties.clear_cache()
        for vectorizer in (
            parts.titles.vectorizer,
            parts.duties.vectorizer,
            parts.documents.vectorizer,
            parts.classifier.word,
            parts.classifier.char,
        ):
            vectorizer.clear_cache()

    def map(self, title: str = "", duties: str = "", *, top_k: int = 5, evidence: bool = True) -> Mapping:
        return self.map_batch([(title, duties)], top_k=top_k, evidence=evidence)[0]

    def map_batch(
        self, queries: Sequence[tuple[str, str]], *, top_k: int = 5, evidence: bool = True
    ) -> list[Mapping]:
        """Map (title, duties) pairs; either may be empty. Returns one Mapping per query, with at
        most ``top_k`` suggestions (fewer when fewer codes are candidates; none when the input has
        no official word)."""
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        if len(queries) > SIGNAL_BATCH:
            # The signals are (queries x official rows) matrices: bounded memory, whatever the batch.
            return [
                mapping
                for start in range(0, len(queries), SIGNAL_BATCH)
                for mapping in self.map_batch(
                    queries[start : start + SIGNAL_BATCH], top_k=top_k, evidence=evidence
                )
            ]
        prepared = [prepare(t, d, self.parts.titles, self.parts.duties) for t, d in queries]
        # Input without one official word (or a typo of one) has nothing to map: any code
        # would be a guess, so it gets no suggestion rather than a made-up confidence.
        live = [i for i, q in enumerate(prepared) if self._has_an_official_word(q)]
        results = [
            Mapping(
                [], ambiguous=False, title_duties_disagree=False, duties_look_french=normalize.looks_french(d)
            )
            for _, d in queries
        ]
        if not live:
            return results
        batch = [prepared[i] for i in live]
        signals = compute_signals(batch, self.parts)
        cand_lists, features = candidate_features(batch, signals, self.parts)
        dists = self.fusion.distributions(features, [len(c) for c in cand_lists])
        for j, i in enumerate(live):
            results[i] = self._mapping(batch[j], signals, j, cand_lists[j], dists[j], top_k, evidence)
        return results

    def _has_an_official_word(self, q: Prepared) -> bool:
        """A word of the official titles, or a word (or typo of one) the classifier knows, that
        is not a function word ('the', 'of': ``normalize.FUNCTION_WORDS``).

        The classifier's vocabulary alone leaves out words of a single official text: 269
        official titles ('senator', 'phlebotomist', 'rabbi', 'sportscaster') used to get no
        suggestion at all."""
        words = [w for w in f"{q.title_norm} {q.duty_norm}".split() if w not in normalize.FUNCTION_WORDS]
        if not words:
            return False
        title_words = self.parts.titles.word_idf
        return any(w in title_words for w in words) or self.parts.classifier.word.knows_a_word_of(
            " ".join(words)
        )

    def _mapping(
        self, q: Prepared, signals, j: int, cands, probs, top_k: int, with_evidence: bool
    ) -> Mapping:
        order = np.argsort(-probs)[:top_k]
        exact = set(signals.exact[j])
        line_sims = aligned_line_similarities(q, self.parts.duties) if with_evidence else None
        suggestions = []
        for k in order:
            c = int(cands[k])
            suggestions.append(
                Suggestion(
                    code=self.codes[c],
                    title=self.code_titles[c],
                    teer=self.code_teer[c],
                    confidence=round(float(probs[k]), 4),
                    # A respelt title's exact hit is a guess at the spelling, not an exact match.
                    method="exact_title" if c in exact and not q.title_respelt else "fused",
                    evidence=explain(
                        q, c, self.parts.titles, self.parts.duties, signals.duty_best[j], line_sims
                    )
                    if with_evidence
                    else Evidence(),
                )
            )
        best_two = np.sort(probs)[::-1][:2]  # of all candidates: the flag must not depend on top_k
        ambiguous = len(best_two) > 1 and best_two[0] - best_two[1] < AMBIGUITY_MARGIN
        title_code = duty_code = None
        disagree = False
        substantial = (
            len(q.duty_lines) >= DISAGREEMENT_MIN_LINES or len(q.duty_norm.split()) >= DISAGREEMENT_MIN_WORDS
        )
        if q.title_norm and substantial:
            title_top = np.argsort(-(signals.clf_title[j] + 4.0 * signals.knn[j]))[:5]
            duty_top = np.argsort(
                -(signals.clf_duty[j] + 4.0 * (signals.duty_align[j] + signals.doc_sim[j]))
            )[:5]
            title_code, duty_code = self.codes[int(title_top[0])], self.codes[int(duty_top[0])]
            # Generic duties fit several neighbouring groups; disagreement means neither side's
            # best is among the other's five best.
            disagree = title_top[0] not in duty_top and duty_top[0] not in title_top
        return Mapping(
            suggestions=suggestions,
            ambiguous=bool(ambiguous),
            title_duties_disagree=bool(disagree),
            title_only_code=title_code,
            duties_only_code=duty_code,
            title_read_as=q.title_norm if q.title_respelt else None,
            duties_look_french=normalize.looks_french(q.duties),
        )

    # ---------------------------------------------------------------- persistence
    def save(self, path: Path) -> Path:
        """Write the model atomically (``<path>`` plus a readable ``<path>.json`` of metadata).

        Plain pickle (protocol 5) rather than joblib: loading then needs no extra import.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as handle:
            pickle.dump({"format": FORMAT_VERSION, "model": self}, handle, protocol=5)
        tmp.replace(path)
        path.with_name(path.name + ".json").write_text(json.dumps(self.metadata, indent=2, default=str))
        return path

    @staticmethod
    def load(path: Path) -> MapperModel:
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"no trained model at {path}: run `uv run nocfit refresh` first")
        started = time.perf_counter()
        try:
            with path.open("rb") as handle:
                payload = pickle.load(handle)
        except Exception as exc:  # corrupt file, missing class, pickle from another version
            raise ModelError(f"cannot load the model at {path}: {exc}") from exc
        fields = payload if isinstance(payload, dict) else {}
        model = fields.get("model")
        if fields.get("format") != FORMAT_VERSION or not isinstance(model, MapperModel):
            raise ModelError(
                f"{path} is not a nocfit model of format {FORMAT_VERSION}; retrain with `nocfit refresh`"
            )
        model.metadata["load_seconds"] = round(time.perf_counter() - started, 3)
        return model
