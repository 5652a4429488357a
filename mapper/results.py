"""The mapper's typed results: one Suggestion per code, grouped in a Mapping per query."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class TitleMatch:
    title: str
    similarity: float


@dataclass
class DutyAlignment:
    input_duty: str
    noc_duty: str | None
    similarity: float


@dataclass
class Evidence:
    matched_titles: list[TitleMatch] = field(default_factory=list)
    duty_alignment: list[DutyAlignment] = field(default_factory=list)
    duty_coverage: float | None = None  # share of the code's main duties the input covers


@dataclass
class Suggestion:
    code: str
    title: str
    teer: int
    confidence: float  # calibrated probability that this is the right unit group
    method: str  # exact_title | fused
    evidence: Evidence


@dataclass
class Mapping:
    """All suggestions for one query, best first, and flags that warn the reader."""

    suggestions: list[Suggestion]
    ambiguous: bool
    title_duties_disagree: bool
    title_only_code: str | None = None
    duties_only_code: str | None = None
    #: When words of the title were misspelt: the title as read, with the official words.
    title_read_as: str | None = None
    #: The duties are French (``normalize.looks_french``): the duty signals read English, so
    #: the alignment and any disagreement mean little.
    duties_look_french: bool = False

    def to_dict(self) -> dict:
        return asdict(self)
