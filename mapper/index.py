"""Title and duty indexes built from the official texts, for cheap lookups before the classifier.

* ``TitleIndex``: every official title (normalised) with the code(s) it belongs to, an exact
  lookup table, and a word TF-IDF matrix for nearest-title search (sparse product; fast in
  batch).
* ``DutyIndex``: every main duty of every unit group as TF-IDF rows, for duty-by-duty
  alignment of a query's duty lines.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import scipy.sparse as sp

from mapper.english import EnglishWords
from mapper.normalize import (
    FRENCH_FUNCTION_WORDS,
    FUNCTION_WORDS,
    IRREGULAR_PAST,
    SENIORITY_WORDS,
    abbreviation_readings,
    base_form,
    join_hyphenated,
    normalize_text,
    normalize_title,
    singular,
    without_bracketed_acronym,
    words_written_apart,
)
from mapper.vectorize import Tfidf

ROLE_HEAD_MIN_TITLES = 3
#: A word within this RapidFuzz ratio of an official title word may be that word misspelt
#: (or, in a word of four letters, two letters swapped: ratio 75, ``_swaps``) ...
RESPELL_RATIO = 80
#: ... if it also starts with the same letter and is at most this many edits away: typos are
#: slips inside a word, while real words that no official text uses are usually another word
#: with a prefix or suffix ('migration'/'immigration', 'insight'/'night', 'engagement'/'amenagement').
RESPELL_MAX_EDITS = 2
#: Only words this long are respelt: shorter ones are too often another word.
RESPELL_MIN_LENGTH = 4
#: A word of a title written as one ('farmhand') is cut into two title words of at least this
#: many letters each.
COMPOUND_MIN_PART = 3
#: At most this many words of one title are looked up (bounded time on any input).
RESPELL_MAX_WORDS = 12
#: A word at least this common in English (Zipf scale: 3 = once per million words; wordfreq)
#: is a real word, not a typo: 'Linux', 'Scrum', 'Agile', 'None' are not respelt.
COMMON_WORD_ZIPF = 3.0
#: A rarer English word is read as written when the official title word nearest it is not
#: this much commoner (Zipf levels: 1 = ten times as common) and is another word, not another
#: spelling (``_consonants``): a slip that happens to write a rare word is less likely than the
#: word itself when the two are about as common. 'busser' (1.65) is no 'busker' (2.24),
#: 'flagger' no 'flanger'; 'programer' (1.40) is still a 'programmer' (3.56), and 'forman'
#: (2.95, a surname) a 'foreman' (3.58), 'paediatrician' a 'pediatrician'.
RESPELL_MIN_ZIPF_GAIN = 1.0
#: Ten times fewer titles, as a difference of idf (natural log of 10): of title words equally
#: near a misspelling, one with its very letters (a swap) that is in ten times fewer titles than
#: the commonest comes first no more ('mnager' is a 'manager', one letter dropped, not a
#: 'manger', two swapped: a word of 'garde manger chef'); and a real word is read as a slip
#: (``TitleIndex._real_word_slip``) only of a title word in ten times as many titles.
RESPELL_RARER_IDF = 2.3
#: What a memoised look-up gives: a word's reading, or its readings best first.
_Reading = TypeVar("_Reading", str, tuple[str, ...])
_VOWELS = re.compile(r"[aeiouy]")
_SOFT_C = re.compile(r"c(?=[eiy])")
_DOUBLED = re.compile(r"(.)\1+")
#: American spellings and the Canadian ones NOC writes, where in a word each is written:
#: 'labor(er)' -> 'labour(er)', 'center' -> 'centre', 'counselor' -> 'counsellor', 'catalog' ->
#: 'catalogue', 'license' -> 'licence'. The places keep real words apart: 'forth' is no 'fourth'
#: ('or' before 'th'), 'boer' no 'bore' ('er' after a vowel).
US_TO_CANADIAN = (
    (re.compile(r"(?<=[a-z])or(?=$|s$|ed$|er|ing|ite|able|ful)"), "our"),
    (re.compile(r"(?<=[bcdfghjklmnpqrstvwxz])er(?=$|s$)"), "re"),
    (re.compile(r"(?<=[aeiou])l(?=er|or|ing|ed$|ation)"), "ll"),
    (re.compile(r"og$"), "ogue"),
    (re.compile(r"ense(?=$|s$)"), "ence"),
)
_MAX_MEMO_WORDS = 100_000  # per memo of word lookups (respelt words, base forms)
_QUALIFIER = re.compile(r"\s[-–]\s.*$|\s*\([^)]*\)\s*$")


def strip_qualifier(title: str) -> str:
    """A published title without its industry qualifier ('cook - Canadian Armed Forces' -> 'cook')."""
    return _QUALIFIER.sub("", title).strip() or title


_PART = re.compile(r"\b(?:and|or|except|other than|including|in|of|for|with)\b")


def head_words(title: str) -> set[str]:
    """Last word of each part of a normalised title ('nurse aide orderly and patient ...' -> ...)."""
    return {part.split()[-1] for part in _PART.split(title) if part.split()}


def _words_of(texts: Sequence[str]) -> frozenset[str]:
    """Every word of the texts, as written and in the singular form titles are normalised to."""
    words = {w for text in texts for w in normalize_text(text).split()}
    return frozenset(words | {singular(w) for w in words})


def per_code_max(sims: sp.csr_matrix, column_code: np.ndarray, n_codes: int) -> np.ndarray:
    """Dense (queries x codes) maximum of ``sims`` over the columns belonging to each code."""
    sims = sims.tocsr()
    out = np.zeros((sims.shape[0], n_codes), dtype=np.float32)
    if not sims.nnz:
        return out
    rows = np.repeat(np.arange(sims.shape[0]), np.diff(sims.indptr))
    if len(column_code) > 1 and np.any(column_code[1:] < column_code[:-1]):
        # Columns not grouped by code (models trained before they were): the slow general way.
        np.maximum.at(out, (rows, column_code[sims.indices]), sims.data)
        return out
    # Columns grouped by code: once each row's columns are in order, the (row, code) keys are
    # sorted, and a segmented maximum gives the answer (np.maximum.at is ~10x slower).
    sims.sort_indices()
    keys = rows * n_codes + column_code[sims.indices]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    out.ravel()[keys[starts]] = np.maximum.reduceat(sims.data, starts)
    return out


def _consonants(word: str) -> str:
    """The word's consonants after its first letter, doubled letters written once, and letters
    that sound alike written alike ('mb' as 'm', 'ph' as 'f', 'z' and a soft 'c' as 's'): words
    that differ in vowels and such letters alone are spellings of one word ('joyner'/'joiner',
    'plummer'/'plumber', 'colorist'/'colourist', 'fertiliser'/'fertilizer', 'razer'/'racer'),
    while 'busser'/'busker' and 'bellman'/'beltman' are two words."""
    word = word.replace("mb", "m").replace("ph", "f").replace("ck", "k")
    word = _SOFT_C.sub("s", word).replace("z", "s")
    return _DOUBLED.sub(r"\1", word[:1] + _VOWELS.sub("", word[1:]))


def _swaps(word: str) -> set[str]:
    """``word`` with two neighbouring letters swapped, the first letter kept ('daat' -> 'data').

    A swap leaves a four-letter word a RapidFuzz ratio of 75, under RESPELL_RATIO, and so does
    any other way of changing two of its letters: wrong letters in four-letter words are not
    read, since too many acronyms and rare words are one wrong letter from a title word ('PACU'
    from 'pack', 'soba' from 'soap')."""
    return {word[:k] + word[k + 1] + word[k] + word[k + 2 :] for k in range(1, len(word) - 1)} - {word}


def _slips(written: str, word: str) -> int:
    """How many slips of a typist turn ``word`` into ``written``: a letter dropped, added or two
    neighbours swapped is one slip, a wrong letter two (a letter dropped and one added), as
    typists drop letters more often than they hit wrong ones. So 'electrican' is an
    'electrician' (one letter dropped) before an 'electrical' (one wrong letter), and 'cheif'
    is as near 'chief' (a swap) as 'chef' (a letter added)."""
    from rapidfuzz.distance import OSA, Indel, Levenshtein

    # Indel counts a wrong letter as two and a swap as two; OSA needs one edit fewer than
    # Levenshtein for each swap. Exact for one slip; for two it may count one more (a letter
    # dropped beside a swap: 'watcham'/'watchman' is 3, not 2).
    return Indel.distance(written, word) - (Levenshtein.distance(written, word) - OSA.distance(written, word))


def _memoised(owner, memo: str, word: str, look_up: Callable[[str], _Reading]) -> _Reading:
    """``look_up(word)``, remembered in ``owner``'s attribute ``memo`` (a derived, unpickled dict)
    and forgotten wholesale when it grows past ``_MAX_MEMO_WORDS``."""
    known = owner.__dict__.setdefault(memo, {})
    if word not in known:
        if len(known) >= _MAX_MEMO_WORDS:
            known.clear()
        known[word] = look_up(word)
    return known[word]


class _Transposed:
    """Mixin: ``matrix_t``, the transpose of ``matrix`` as CSR, built once on first use.

    ``queries @ matrix.T`` would convert the whole matrix to another sparse format on every
    call, which dominated single-query latency.
    """

    _DERIVED: tuple[str, ...] = ("_matrix_t",)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for key in self._DERIVED:  # derived: rebuilt after loading, never stored
            state.pop(key, None)
        return state

    @property
    def matrix_t(self) -> sp.csr_matrix:
        cached = self.__dict__.get("_matrix_t")
        if cached is None:
            cached = self.matrix.T.tocsr()
            self.__dict__["_matrix_t"] = cached
        return cached


@dataclass
class TitleIndex(_Transposed):
    """Normalised official titles; one row per (title, code) pair."""

    _DERIVED = (
        *_Transposed._DERIVED,
        "_spelling_list",
        "_spelling_list_fr",
        "_respelt",
        "_respelt_fr",
        "_slipped_from",
        "_lowest_idf",
        "_highest_idf",
    )  # respelling, built on use

    titles: list[str]  # normalised, one per row
    display: list[str]  # a published spelling of each row, for evidence
    row_code: np.ndarray  # code index per row
    exact: dict[str, tuple[int, ...]]  # normalised title -> code indexes
    vectorizer: Tfidf  # words and word pairs of the titles
    matrix: sp.csr_matrix  # rows x features, L2-normalised
    rows_of_code: list[np.ndarray]
    code_vocab: list[frozenset[str]]  # every word used in the code's titles
    code_heads: list[frozenset[str]]  # head nouns (last word of each title part) of the code's titles
    word_idf: dict[str, float]
    #: Words that end at least ROLE_HEAD_MIN_TITLES official titles (qualifiers cut off):
    #: the agent nouns that end a role ('clerk', 'cashier'), used to split "A, B" titles.
    role_heads: frozenset[str]
    #: Words of the other official texts (duties, lead statements, definitions): real words
    #: even where no title uses them, so never respelt. (Default for models saved without it.)
    other_words: frozenset[str] = frozenset()
    #: Words official texts write apart at least as often as as one (``words_written_apart``);
    #: None in models trained before hyphenated words were joined: they read them as trained.
    written_apart: frozenset[str] | None = None
    #: Words a misspelling may be read as: the English titles' (None: every title word, as
    #: models trained before French titles were left out read them). Respelling into the French
    #: titles' words read 'Linux' as 'lieux', 'Agile' as 'argile' and 'None' as 'nonne'.
    spelling_words: frozenset[str] | None = None
    #: Common English words that no official text uses: never respelt. Models saved before
    #: ``english`` read words with this set alone.
    common_words: frozenset[str] = frozenset()
    #: How common English words are: common ones are never respelt, rarer ones only into a
    #: much commoner title word (``RESPELL_MIN_ZIPF_GAIN``).
    english: EnglishWords | None = None

    @classmethod
    def build(
        cls,
        pairs: Sequence[tuple[str, str]],
        codes: Sequence[str],
        other_texts: Sequence[str] = (),
        *,
        english_titles: Sequence[str] | None = None,
        english: EnglishWords | None = None,
    ) -> TitleIndex:
        """``pairs`` = (code, published title); ``other_texts``: the official duties, lead
        statements and definitions, whose words are never respelt; ``english_titles``: the
        titles whose words misspellings are read as (default: all); ``english``: how common
        English words are (default: none is a real word)."""
        position = {c: i for i, c in enumerate(codes)}
        # Rows grouped by code (in their order within it): ``per_code_max``'s fast path.
        pairs = sorted(pairs, key=lambda pair: position[pair[0]])
        seen: dict[tuple[str, int], int] = {}
        titles, display, row_code = [], [], []
        exact: dict[str, set[int]] = defaultdict(set)
        bare_exact: dict[str, set[int]] = defaultdict(set)
        for code, title in pairs:
            norm = normalize_title(title)
            if not norm:
                continue
            key = (norm, position[code])
            exact[norm].add(position[code])
            if key in seen:
                continue
            seen[key] = len(titles)
            titles.append(norm)
            display.append(title)
            row_code.append(position[code])
        # A title is also found exactly without a bracketed acronym ('doctor of medicine (MD)'),
        # unless that is another title as written.
        for code, title in pairs:
            bare = normalize_title(without_bracketed_acronym(title))
            if bare and bare not in exact:
                bare_exact[bare].add(position[code])
        for bare, found in bare_exact.items():
            exact[bare] = found
        # Without the French function words: 'de' is in half the rows (the bilingual index's
        # titles), so every French query touched half the index, for a similarity of almost 0.
        vectorizer, matrix = Tfidf.fit_transform(
            titles, ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b", stop_words=FRENCH_FUNCTION_WORDS
        )
        row_code_arr = np.asarray(row_code, dtype=np.int32)
        rows_of_code = [np.flatnonzero(row_code_arr == i) for i in range(len(codes))]
        vocab: list[set[str]] = [set() for _ in codes]
        heads: list[set[str]] = [set() for _ in codes]
        for title, code in zip(titles, row_code, strict=True):
            vocab[code].update(title.split())
            heads[code].update(head_words(title))
        idf = {w: float(vectorizer.idf[j]) for w, j in vectorizer.vocabulary.items() if " " not in w}
        ends = Counter(
            norm.split()[-1] for norm in map(normalize_title, map(strip_qualifier, display)) if norm
        )
        return cls(
            titles=titles,
            display=display,
            row_code=row_code_arr,
            exact={k: tuple(sorted(v)) for k, v in exact.items()},
            vectorizer=vectorizer,
            matrix=matrix,
            rows_of_code=rows_of_code,
            code_vocab=[frozenset(v) for v in vocab],
            code_heads=[frozenset(h) for h in heads],
            word_idf=idf,
            role_heads=frozenset(w for w, n in ends.items() if n >= ROLE_HEAD_MIN_TITLES),
            other_words=_words_of(other_texts),
            written_apart=words_written_apart([*display, *other_texts], normalize_title),
            spelling_words=None
            if english_titles is None
            else frozenset(w for t in english_titles for w in normalize_title(t).split() if w in idf),
            english=english,
        )

    def word_coverage(self, title: str, codes: Iterable[int]) -> list[float]:
        """For each code, the IDF-weighted share of the title's words that the code's titles use."""
        words = set(title.split())
        # Unknown words weigh most; the French function words the index leaves out, nothing.
        weights = {w: self.word_idf.get(w, 0.0 if w in FRENCH_FUNCTION_WORDS else 12.0) for w in words}
        if not any(weights.values()):
            return [0.0 for _ in codes]
        total = sum(weights.values())
        return [sum(v for w, v in weights.items() if w in self.code_vocab[code]) / total for code in codes]

    def read(self, title: str) -> tuple[str, str]:
        """A published title normalised (abbreviations read as official titles read them,
        ``OTHER_READINGS``) and then respelt: ('netwrk administrator', 'network administrator')
        from 'Netwrk Admin'.

        Of the ways to read its abbreviations (``abbreviation_readings``, usual readings first),
        the first that makes an official title (once respelt) is taken; else the one with the
        most word pairs that official titles use ('acct exec': 'account executive', not
        'accountant executive'); on a tie the first of them, so the usual one when it is tied.
        """
        written = [normalize_title(title, r) for r in abbreviation_readings(title)]
        read = [self.respell(w) for w in written]
        if len(read) == 1:
            return written[0], read[0]
        best = next((k for k, r in enumerate(read) if r in self.exact), None)
        if best is None:
            counts = [self._title_pairs(r) for r in read]
            best = counts.index(max(counts))
        return written[best], read[best]

    def _title_pairs(self, title: str) -> int:
        """How many of a normalised title's adjacent word pairs at least two official titles use
        (one title's pair is too thin: 'administration supervisor' is only a 'lease
        administration supervisor'); not those with a seniority or function word ('senior
        engineer' says nothing of 'eng')."""
        plain = [w for w in title.split() if w not in SENIORITY_WORDS and w not in FUNCTION_WORDS]
        return sum(self._common_pair(a, b) for a, b in itertools.pairwise(plain))

    def _common_pair(self, a: str, b: str) -> bool:
        """Whether at least two official titles write the words ``a b`` side by side."""
        j = self.vectorizer.vocabulary.get(f"{a} {b}")
        # scikit-learn's smoothed idf of a term in two of the n rows: ln((1 + n) / 3) + 1
        return j is not None and self.vectorizer.idf[j] <= np.log((1 + len(self.titles)) / 3) + 1 + 1e-4

    def join_hyphenated(self, title: str) -> str:
        """The published ``title`` with 'X-Y' written 'XY' where that is a word of official texts
        that they do not write apart as often (``words_written_apart``): 'Book-keeper',
        'Co-ordinator'; not 'Hydro-electric'. An official title as written stays as it is."""
        if self.written_apart is None or normalize_title(title) in self.exact:
            return title
        return join_hyphenated(title, self._joins)

    def _joins(self, joined: str) -> bool:
        word = normalize_title(joined)
        return (word in self.word_idf or word in self.other_words) and word not in self.written_apart

    def respell(self, title: str) -> str:
        """A normalised title with each word that no official text uses respelt to the closest
        official title word ('registerd nrse' -> 'registered nurse').

        A misspelt word matches nothing but character n-grams; one typo in a dev-set title cut
        top-1 from 0.61 to 0.45 (benchmarks/mapper_typo_benchmark.py). A real word that no
        official text uses can be respelt too ('tailman' -> 'tallyman'); the output shows the
        reading (``Mapping.title_read_as``). A title with a French function word ('de', 'la')
        may be respelt into the French titles' words too; others into the English titles' only.

        A slip can also write another real word ('project manger', 'motor vehicle sore clerk'):
        a word that official titles pair with neither neighbour is read as a far commoner title
        word one slip away that two official titles write beside a neighbour
        (``_real_word_slip``).
        """
        words = title.split()
        french = any(len(w) > 1 and w in FRENCH_FUNCTION_WORDS for w in words)  # not 'Class D'
        fixed: list[str] = []
        for k, w in enumerate(words[:RESPELL_MAX_WORDS]):
            left, right = fixed[-1] if fixed else "", words[k + 1] if k + 1 < len(words) else ""
            if w in FUNCTION_WORDS:
                fixed.append(w)
                continue
            if w not in self.word_idf and w not in self.other_words:
                readings = self._closest_words(w, french=french)
                # Readings as near as each other: the one an official title pairs with a neighbour
                if len(readings) > 1:
                    readings = tuple(sorted(readings, key=lambda r: not self._pairs_with(r, left, right)))
                # Respelt; or looked up and kept, so no title word is near enough (a common word
                # is not looked up)
                if readings[0] != w or self._english_zipf(w) < COMMON_WORD_ZIPF:
                    fixed.append(readings[0])
                    continue
            if not french and not self._pairs_with(w, left, right):  # most words pair with a neighbour
                w = self._real_word_slip(w, left, right) or w
            fixed.append(w)
        return " ".join(fixed + words[RESPELL_MAX_WORDS:])

    def _real_word_slip(self, word: str, left: str, right: str) -> str | None:
        """The title word that ``word``, a real word that official titles pair with neither
        neighbour, may be a slip of: one slip away, in at least ten times as many titles
        (RESPELL_RARER_IDF; a word of no title counts as one of one), and written beside
        ``left`` or ``right`` by at least two official titles. 'project manger' is a 'project
        manager' ('garde manger' is an official pair), 'sheet mental worker' a 'sheet metal
        worker'; 'blog manager' is no 'bog manager' ('bog' is in one title). Else None."""
        if self._french_only(word):
            return None
        # French titles' words pair with English ones by their translations
        left, right = ("" if self._french_only(n) else n for n in (left, right))
        if not (left or right):
            return None
        slips = _memoised(self, "_slipped_from", word, self._look_up_commoner_one_slip_away)
        paired = [w for w in slips if self._common_pair(left, w) or self._common_pair(w, right)]
        return paired[0] if paired else None

    def _look_up_commoner_one_slip_away(self, word: str) -> tuple[str, ...]:
        """English title words one slip from ``word`` in at least ten times as many titles,
        commonest first; not one that ``word`` only adds a last letter to: 'barn', 'cart' and
        'cape' are words of their own, not a 'bar', 'car' and 'cap' with a slip."""
        idf = self.word_idf.get(word, self._highest_idf)
        if len(word) < RESPELL_MIN_LENGTH or not word.isalpha() or idf < self._lowest_idf + RESPELL_RARER_IDF:
            return ()  # too short to guess, or too common for any title word to be ten times commoner
        near = [
            w
            for w in self._title_words_near(word, french=False)
            if w != word[:-1] and w != word and _slips(word, w) == 1
        ]
        return tuple(
            sorted((w for w in near if self.word_idf[w] + RESPELL_RARER_IDF <= idf), key=self.word_idf.get)
        )

    def _french_only(self, word: str) -> bool:
        """Whether ``word`` is a word of the French titles only ('acide', 'prepose')."""
        english = self.spelling_words
        return (
            english is not None
            and word in self.word_idf
            and word not in english
            and word not in self.other_words
        )

    @functools.cached_property
    def _lowest_idf(self) -> float:
        return min(self.word_idf.values(), default=0.0)

    @functools.cached_property
    def _highest_idf(self) -> float:  # a word of one title
        return max(self.word_idf.values(), default=0.0)

    def _pairs_with(self, word: str, left: str, right: str) -> bool:
        """Whether an official title writes ``word`` after ``left`` or before ``right``
        ('sous chef', 'real estate')."""
        vocabulary = self.vectorizer.vocabulary  # the title words and word pairs
        return f"{left} {word}" in vocabulary or f"{word} {right}" in vocabulary

    def _closest_words(self, word: str, *, french: bool = False) -> tuple[str, ...]:
        """How to read ``word``: the official title words closest in spelling, best first
        (``_look_up_misspelling``), or ``(word,)``."""
        if len(word) < RESPELL_MIN_LENGTH or not word.isalpha():
            return (word,)
        memo = "_respelt_fr" if french else "_respelt"  # typos recur in a batch
        return _memoised(self, memo, word, lambda w: self._look_up_closest_words(w, french=french))

    def _look_up_closest_words(self, word: str, *, french: bool = False) -> tuple[str, ...]:
        found = self._written_apart_title(word) or self._canadian_spelling(word)
        if found:
            return (found,)
        written = self._english_zipf(word)
        if written >= COMMON_WORD_ZIPF:
            return (word,)
        nearest = self._look_up_misspelling(word, french=french)
        if written:
            # A rare real word is read as written unless the nearest title word is much commoner
            # or another spelling of it: a slip that happens to write a rare word is the less
            # likely. Only the nearest: 'biller' is no 'billet', so it is no 'boiler' either.
            passes = [self._may_be_misspelt(word, written, w) for w in nearest]
            if nearest and not passes[0]:
                return (word,)
            nearest = [w for w, ok in zip(nearest, passes, strict=True) if ok]
        return tuple(nearest) or (word,)

    def _may_be_misspelt(self, word: str, written: float, respelt: str) -> bool:
        """Whether the rare English ``word`` (Zipf level ``written``) may be ``respelt`` misspelt."""
        much_commoner = self._english_zipf(respelt) >= written + RESPELL_MIN_ZIPF_GAIN
        return much_commoner or _consonants(word) == _consonants(respelt)

    def _english_zipf(self, word: str) -> float:
        """How common ``word`` is in English (Zipf level; 0: a typo or too rare to know)."""
        if self.english is None:  # a model saved before: its common words only
            return COMMON_WORD_ZIPF if word in self.common_words else 0.0
        return self.english.zipf(word)

    def _canadian_spelling(self, word: str) -> str | None:
        """The official title word that is ``word``'s Canadian spelling ('laborer' ->
        'labourer', 'theater' -> 'theatre'), or None. Of several, the commonest."""
        known = self._spelling_vocabulary(french=False)
        found = {
            variant
            for us, canadian in US_TO_CANADIAN
            for match in us.finditer(word)
            if (variant := word[: match.start()] + canadian + word[match.end() :]) in known
        }
        return min(found, key=lambda w: (self.word_idf[w], w)) if found else None

    def _spelling_vocabulary(self, *, french: bool) -> Container[str]:
        return self.word_idf if french or self.spelling_words is None else self.spelling_words

    def _written_apart_title(self, word: str) -> str | None:
        """Two words that official titles write apart, written as one ('farmhand' -> 'farm
        hand', 'busboy' -> 'bus boy'), or None. Before any respelling: 'ranchhand' is a ranch
        hand, not a 'ranchman'. Of several cuts, the pair most titles use."""
        vocabulary = self.vectorizer.vocabulary  # the title words and word pairs
        pairs = (
            f"{word[:k]} {word[k:]}" for k in range(COMPOUND_MIN_PART, len(word) - COMPOUND_MIN_PART + 1)
        )
        cuts = [pair for pair in pairs if pair in vocabulary]
        if not cuts:
            return None
        return min(cuts, key=lambda pair: self.vectorizer.idf[vocabulary[pair]])

    def _look_up_misspelling(self, word: str, *, french: bool = False) -> list[str]:
        """The title words that start as ``word`` does and are fewest slips from it, best first.

        Of words as near, first one with the very letters written (two swapped: 'rela' is 'real'
        before 'relay', 'caer' 'care' before 'cater') unless it is in far fewer titles than the
        commonest (RESPELL_RARER_IDF: 'mnager' is a 'manager', not a 'manger'); then the longer
        (typists drop letters more often than they add them: 'surveyer' is a 'surveyor' before a
        'survey'); then the commoner in titles. ``respell`` may yet prefer one that makes an
        official word pair.
        """
        matches = self._title_words_near(word, french=french)
        if not matches:
            return []
        slips = {w: _slips(word, w) for w in matches}
        fewest = min(slips.values())
        nearest = [w for w in matches if slips[w] == fewest]
        commonest = min(self.word_idf[w] for w in nearest)
        letters = sorted(word)

        def swapped(w: str) -> bool:
            return sorted(w) == letters and self.word_idf[w] < commonest + RESPELL_RARER_IDF

        return sorted(nearest, key=lambda w: (not swapped(w), -len(w), self.word_idf[w], w))

    def _title_words_near(self, word: str, *, french: bool) -> list[str]:
        """The title words a respelling may read ``word`` as: starting with its letter, within
        RESPELL_RATIO and RESPELL_MAX_EDITS edits of it, or its letters swapped (``_swaps``)."""
        from rapidfuzz import fuzz, process
        from rapidfuzz.distance import Levenshtein

        key = "_spelling_list_fr" if french else "_spelling_list"
        by_letter = self.__dict__.get(key)
        if by_letter is None:
            allowed = self._spelling_vocabulary(french=french)
            by_letter = {}
            for w in self.word_idf:
                if w.isalpha() and w in allowed:
                    by_letter.setdefault(w[0], []).append(w)
            self.__dict__[key] = by_letter
        near = [
            w
            for w, _, _ in process.extract(
                word, by_letter.get(word[0], []), scorer=fuzz.ratio, score_cutoff=RESPELL_RATIO, limit=None
            )
            if Levenshtein.distance(word, w, score_cutoff=RESPELL_MAX_EDITS) <= RESPELL_MAX_EDITS
        ]
        allowed = self._spelling_vocabulary(french=french)
        return near + [w for w in _swaps(word) if w not in near and w in allowed and w in self.word_idf]

    def clear_cache(self) -> None:
        for memo in ("_respelt", "_respelt_fr", "_slipped_from"):
            self.__dict__.pop(memo, None)

    def head_match(self, title: str, codes: Iterable[int]) -> list[bool]:
        """For each code: does a head noun of the title head one of the code's titles?"""
        heads = head_words(title)
        return [bool(heads & self.code_heads[code]) for code in codes]

    def similarities(self, queries: Sequence[str]) -> sp.csr_matrix:
        """Cosine similarity of normalised queries to every title row."""
        return (self.vectorizer.transform(queries) @ self.matrix_t).tocsr()

    def best_per_code(self, queries: Sequence[str], n_codes: int) -> np.ndarray:
        return per_code_max(self.similarities(queries), self.row_code, n_codes)


@dataclass
class DutyIndex(_Transposed):
    """Main duties per code as TF-IDF rows (columns grouped by code).

    Verbs are read in their base form (``normalize.base_form``): reference letters tell duties
    in the past tense ('Administered medications'), NOC in the present ('Administer
    medications'), and whole words would share only the nouns. ``read`` is how every other duty
    signal reads duty text, in training and at query time.
    """

    # memos of base_form (alignment) and of read's word forms (other signals), built on use
    _DERIVED = (*_Transposed._DERIVED, "_base_forms", "_past_forms")

    duties: list[str]  # published text
    row_code: np.ndarray
    vectorizer: Tfidf
    matrix: sp.csr_matrix
    rows_of_code: list[np.ndarray]
    known_words: frozenset[str]  # words of the main duties, less stop words: the base forms
    #: How this index (and the model around it) reads duty text: 1 = only the alignment reads
    #: regular inflections as their base (models of 5d28382 to fe85186); 2 = irregular past
    #: forms too, and every duty signal reads past forms as their base (``read``).
    reading: int = 2
    #: As ``TitleIndex.written_apart``, for the duties (None: hyphens are not joined).
    written_apart: frozenset[str] | None = None

    @classmethod
    def build(cls, pairs: Sequence[tuple[str, str]], codes: Sequence[str]) -> DutyIndex:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        position = {c: i for i, c in enumerate(codes)}
        duties = [d for _, d in pairs]
        row_code = np.asarray([position[c] for c, _ in pairs], dtype=np.int32)
        normalized = [normalize_text(d) for d in duties]
        # Less stop words ('filled' stays apart from 'fill'), except the bases of irregular past
        # forms: 'kept' must read as 'keep' (a stop word, dropped) for both tenses to score alike.
        # (All stop words as bases cost 11 dev items for 3 gained over seeds 0-2.)
        stop_words = ENGLISH_STOP_WORDS - frozenset(IRREGULAR_PAST.values())
        known = frozenset(w for text in normalized for w in text.split()) - stop_words
        index = cls(duties, row_code, None, None, [], known, reading=2)  # type: ignore[arg-type]
        # NOC writes 'co-ordinate' in a few duties, 'coordinate' in most: its own lines are read
        # as queries are (``_normalize``), with the words that plain normalising gave.
        index.written_apart = words_written_apart(duties, lambda w: index._base_text(normalize_text(w)))
        normalized = [index._normalize(d) for d in duties]
        index.known_words = frozenset(w for text in normalized for w in text.split()) - stop_words
        index.clear_cache()
        index.vectorizer, index.matrix = Tfidf.fit_transform(
            [index._base_text(t) for t in normalized], ngram_range=(1, 2), stop_words="english"
        )
        index.rows_of_code = [np.flatnonzero(row_code == i) for i in range(len(codes))]
        return index

    def __setstate__(self, state: dict) -> None:
        # Models trained before base forms lack the known words (none: words as they are), and
        # those trained before ``reading`` read as its version 1, so each maps as it was trained.
        self.__dict__.update({"known_words": frozenset(), "reading": 1, **state})

    def _reword(self, normalized: str, memo: str, **rule: bool) -> str:
        """Each word of ``normalized`` as ``base_form(word, known_words, **rule)``, memoised in ``memo``."""
        return " ".join(
            _memoised(self, memo, w, lambda w: base_form(w, self.known_words, **rule))
            for w in normalized.split()
        )

    def _base_text(self, normalized: str) -> str:
        """The alignment's reading: past forms and -ing forms as their base."""
        return self._reword(normalized, "_base_forms", irregular=self.reading >= 2)

    def _normalize(self, text: str) -> str:
        """``normalize_text``, after writing 'co-ordinate' as NOC's 'coordinate' (as
        ``TitleIndex.join_hyphenated``, with the duties' words)."""
        if self.written_apart is None:
            return normalize_text(text)
        return normalize_text(join_hyphenated(text, self._joins))

    def _joins(self, joined: str) -> bool:
        word = self._base_text(normalize_text(joined))
        return word in self.known_words and word not in self.written_apart

    def read(self, text: str) -> str:
        """Duty text as the classifier and code documents read it: normalised, past forms as
        their base, so 'Drove buses' and 'Drive buses' score alike. -ing words stay: there they
        are often nouns that titles share ('food processing', 'nursing'), unlike in the line
        alignment, whose lines are verb phrases."""
        normalized = self._normalize(text)
        if self.reading < 2:
            return normalized
        return self._reword(normalized, "_past_forms", participles=False)

    def line_similarities(self, lines: Sequence[str]) -> sp.csr_matrix:
        """Cosine similarity of each (raw) duty line to every main duty."""
        texts = [self._base_text(self._normalize(x)) for x in lines]
        return (self.vectorizer.transform(texts) @ self.matrix_t).tocsr()

    def clear_cache(self) -> None:
        self.__dict__.pop("_base_forms", None)
        self.__dict__.pop("_past_forms", None)


@dataclass
class CodeDocuments(_Transposed):
    """One document per unit group (all its official text), for a centroid-style similarity."""

    vectorizer: Tfidf
    matrix: sp.csr_matrix  # codes x features

    @classmethod
    def build(cls, texts_by_code: Sequence[str]) -> CodeDocuments:
        """From one already-normalised text per code (titles by ``normalize_text``, duty text
        by ``DutyIndex.read``, as ``train.build_parts`` does)."""
        vectorizer, matrix = Tfidf.fit_transform(texts_by_code, ngram_range=(1, 2), stop_words="english")
        return cls(vectorizer, matrix)

    def similarities(self, texts: Sequence[str]) -> np.ndarray:
        """(texts x codes) cosine similarity of already-normalised texts."""
        return np.asarray((self.vectorizer.transform(texts) @ self.matrix_t).todense(), dtype=np.float32)
