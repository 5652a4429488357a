"""Category fit: read candidates, count qualifying experience, evaluate category rules.

Pure Python (no Dagster, DuckDB or scikit-learn), so it can be used from the pipeline, the CLI
and tests alike.

* :mod:`nocfit.fit.candidates` - read and validate candidate JSON Lines.
* :mod:`nocfit.fit.experience` - full-time-equivalent months in a look-back window.
* :mod:`nocfit.fit.rules` - evaluate a candidate against the categories of a version.
"""

from nocfit.fit.candidates import (
    Candidate,
    LanguageResult,
    Reject,
    WorkSpell,
    read_candidates,
    read_candidates_file,
)
from nocfit.fit.experience import CONTINUITY_GAP_DAYS, ExperienceCounter, Window, fte_months
from nocfit.fit.rules import (
    CategoryResult,
    claimed_noc_mismatches,
    evaluate_candidate,
    evaluate_category,
    evaluate_version,
)

__all__ = [
    "CONTINUITY_GAP_DAYS",
    "Candidate",
    "CategoryResult",
    "ExperienceCounter",
    "LanguageResult",
    "Reject",
    "Window",
    "WorkSpell",
    "claimed_noc_mismatches",
    "evaluate_candidate",
    "evaluate_category",
    "evaluate_version",
    "fte_months",
    "read_candidates",
    "read_candidates_file",
]
