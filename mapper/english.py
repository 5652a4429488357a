"""How common words are in English, for telling a rare real word from a typo.

The respeller (``TitleIndex.respell``) reads a word that no official text uses as the official
title word nearest in spelling. That is right for 'managr' and wrong for 'busser', a real word
that English writes about as often as 'busker'. ``EnglishWords`` holds wordfreq's Zipf level
of every English word long enough to be respelt (3 = once per million words) so that the
respeller can weigh the two readings; it is built at training time and saved in the model, so
a model reads words the same way whatever wordfreq is installed later.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass
class EnglishWords:
    """Zipf levels of English words, stored compactly and read on first use.

    About 277,000 words: as a dict they cost 60 ms of every model load, as one string and one
    byte each they cost nothing until a query holds a word that no official text uses.
    """

    words: str  # the words, '\n'-joined
    levels: bytes  # each word's Zipf level x 10, rounded down

    @classmethod
    def from_levels(cls, zipf: Mapping[str, float]) -> EnglishWords:
        """From ``word -> Zipf level``: levels from 0 to 25.5 are kept to a tenth, rounded down
        (wordfreq's 2.95 is 2.9, still under ``COMMON_WORD_ZIPF``, 3.0)."""
        levels = (min(255, max(0, math.floor(round(z, 2) * 10 + 1e-6))) for z in zipf.values())
        return cls("\n".join(zipf), bytes(levels))

    @classmethod
    def from_wordfreq(cls, min_length: int) -> EnglishWords:
        """Every English word in wordfreq of at least ``min_length`` letters a-z."""
        from wordfreq import get_frequency_dict

        return cls.from_levels(
            {
                word: math.log10(frequency) + 9  # wordfreq's Zipf scale
                for word, frequency in get_frequency_dict("en").items()
                if len(word) >= min_length and word.isascii() and word.isalpha()
            }
        )

    def zipf(self, word: str) -> float:
        """The word's Zipf level, 0 for a word English does not write (a typo, or too rare)."""
        table = self.__dict__.get("_table")
        if table is None:
            table = dict(zip(self.words.split("\n"), self.levels, strict=True)) if self.words else {}
            self.__dict__["_table"] = table
        return table.get(word, 0) / 10

    def __getstate__(self) -> dict:
        return {"words": self.words, "levels": self.levels}  # the table is rebuilt on use

    def __len__(self) -> int:
        return len(self.levels)
