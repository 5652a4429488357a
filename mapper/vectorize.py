"""TF-IDF vectors: fitted with scikit-learn, applied without it.

Importing scikit-learn takes about two seconds, longer than the whole model may take to load.
``Tfidf.fit`` fits a ``TfidfVectorizer`` and keeps only what transforming needs (vocabulary,
idf weights, analyzer settings); ``Tfidf.transform`` reproduces scikit-learn's word and
``char_wb`` analyzers exactly (tests compare the two), with numpy and scipy only.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

_WHITE_SPACES = re.compile(r"\s\s+")
_MAX_CACHED_WORDS = 200_000
#: A word within this RapidFuzz ratio of a vocabulary word counts as that word misspelt.
_TYPO_RATIO = 80
#: At most this many unknown words are looked up as typos (bounded time on any input).
_MAX_TYPO_LOOKUPS = 20


@dataclass
class Tfidf:
    analyzer: str  # "word" or "char_wb"
    ngram_range: tuple[int, int]
    token_pattern: str
    stop_words: frozenset[str]
    vocabulary: dict[str, int]
    idf: np.ndarray
    sublinear_tf: bool
    #: Vocabulary ids of each word's character n-grams (char_wb n-grams never cross words, so a
    #: word's ids can be reused); rebuilt on demand, never pickled.
    _word_ids: dict[str, list[int]] = field(default_factory=dict, repr=False, compare=False)
    #: Single words of the vocabulary, for typo lookups; built on demand, never pickled.
    _single_words: list[str] | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_word_ids"] = {}
        state["_single_words"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_word_ids", {})
        self.__dict__.setdefault("_single_words", None)

    def clear_cache(self) -> None:
        self._word_ids.clear()
        self._single_words = None

    @classmethod
    def fit(cls, texts: Sequence[str], **options) -> Tfidf:
        return cls.fit_transform(texts, **options)[0]

    @classmethod
    def fit_transform(
        cls,
        texts: Sequence[str],
        *,
        analyzer: str = "word",
        ngram_range: tuple[int, int] = (1, 1),
        token_pattern: str = r"(?u)\b\w\w+\b",
        stop_words: str | frozenset[str] | None = None,
        min_df: int = 1,
        max_features: int | None = None,
        sublinear_tf: bool = True,
    ) -> tuple[Tfidf, sp.csr_matrix]:
        """Fit on ``texts`` and return the vectoriser with the texts' (scikit-learn computed) matrix."""
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

        vectorizer = TfidfVectorizer(
            analyzer=analyzer,
            ngram_range=ngram_range,
            token_pattern=token_pattern,
            stop_words=sorted(stop_words) if isinstance(stop_words, frozenset) else stop_words,
            min_df=min_df,
            max_features=max_features,
            sublinear_tf=sublinear_tf,
            dtype=np.float32,
        )
        matrix = vectorizer.fit_transform(texts).tocsr()
        fitted = cls(
            analyzer=analyzer,
            ngram_range=ngram_range,
            token_pattern=token_pattern,
            stop_words=frozenset(ENGLISH_STOP_WORDS)
            if stop_words == "english"
            else frozenset(stop_words or ()),
            vocabulary={term: int(i) for term, i in vectorizer.vocabulary_.items()},
            idf=vectorizer.idf_.astype(np.float32),
            sublinear_tf=sublinear_tf,
        )
        return fitted, matrix

    @property
    def n_features(self) -> int:
        return len(self.idf)

    def terms(self, text: str) -> Iterable[str]:
        """The n-grams scikit-learn's analyzer would produce for ``text`` (lower-cased)."""
        text = text.lower()
        low, high = self.ngram_range
        if self.analyzer == "char_wb":
            for word in _WHITE_SPACES.sub(" ", text).split():
                word = f" {word} "
                for n in range(low, high + 1):
                    yield word[:n]
                    offset = 0
                    while offset + n < len(word):
                        offset += 1
                        yield word[offset : offset + n]
                    if offset == 0:  # a word shorter than n is counted once, as scikit-learn does
                        break
            return
        tokens = [t for t in re.findall(self.token_pattern, text) if t not in self.stop_words]
        for n in range(low, high + 1):
            for start in range(len(tokens) - n + 1):
                yield " ".join(tokens[start : start + n])

    def knows_a_word_of(self, text: str) -> bool:
        """Whether any word of ``text`` is in the (word) vocabulary, or is a typo of one."""
        from rapidfuzz import fuzz, process

        words = [w for w in re.findall(self.token_pattern, text.lower()) if w not in self.stop_words]
        if any(w in self.vocabulary for w in words):
            return True
        if self._single_words is None:
            self._single_words = [t for t in self.vocabulary if " " not in t]
        candidates = list(dict.fromkeys(w for w in words if len(w) >= 4))[:_MAX_TYPO_LOOKUPS]
        return any(
            process.extractOne(w, self._single_words, scorer=fuzz.ratio, score_cutoff=_TYPO_RATIO)
            for w in candidates
        )

    def _char_ids(self, text: str) -> list[int]:
        """Vocabulary ids of the char_wb n-grams of ``text``, word by word through a cache."""
        cache = self._word_ids
        if len(cache) > _MAX_CACHED_WORDS:
            cache.clear()
        ids: list[int] = []
        for word in _WHITE_SPACES.sub(" ", text.lower()).split():
            found = cache.get(word)
            if found is None:
                found = [j for j in map(self.vocabulary.get, self.terms(word)) if j is not None]
                cache[word] = found
            ids.extend(found)
        return ids

    def _ids(self, text: str) -> list[int]:
        if self.analyzer == "char_wb":
            return self._char_ids(text)
        return [j for j in map(self.vocabulary.get, self.terms(text)) if j is not None]

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        indptr, indices, values = [0], [], []
        for text in texts:
            counts = Counter(self._ids(text))
            weights = []
            for j, count in counts.items():
                tf = 1.0 + math.log(count) if self.sublinear_tf else float(count)
                weights.append(tf * float(self.idf[j]))
            norm = math.sqrt(sum(w * w for w in weights)) or 1.0
            indices.extend(counts.keys())
            values.extend(w / norm for w in weights)
            indptr.append(len(indices))
        matrix = sp.csr_matrix(
            (np.asarray(values, dtype=np.float32), np.asarray(indices, dtype=np.int32), np.asarray(indptr)),
            shape=(len(texts), self.n_features),
        )
        matrix.sort_indices()
        return matrix
