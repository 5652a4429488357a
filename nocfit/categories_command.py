"""`nocfit categories`: the category list in force on a date, or the JSON Schema of the files."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import TextIO

from nocfit.categories.load import CategoryDataError, load_versions, version_in_force
from nocfit.categories.model import CategoryVersion


def print_schema(out: TextIO) -> None:
    print(json.dumps(CategoryVersion.model_json_schema(), indent=2), file=out)


def print_in_force(day: dt.date, out: TextIO) -> int:
    """Validate the curated files, then list the version in force on ``day`` and its categories."""
    try:
        versions = load_versions()
    except CategoryDataError as exc:
        print(f"nocfit categories: invalid category data:\n{exc}", file=sys.stderr)
        return 1
    version = version_in_force(day, versions)
    if version is None:
        print(
            f"No category list was in force on {day} (the first started {versions[0].effective_from}).",
            file=out,
        )
        return 0
    until = version.effective_to or "still in force"
    print(f"{version.version_id}: {version.label} ({version.effective_from} to {until})", file=out)
    if day > dt.date.today() and version.effective_to is None:
        print(
            f"  (note: {day} is in the future; this is the latest list nocfit knows, and IRCC may "
            "publish another before then)",
            file=out,
        )
    for category in version.categories_on(day):
        rules = category.rules
        if category.kind == "language" and rules.language:
            rule = (
                f"{rules.language.scale} {rules.language.min_level} in {', '.join(rules.language.abilities)}"
            )
        elif category.kind == "occupation":
            continuous = {
                True: "continuous",
                False: "not necessarily continuous",
                "unknown": "continuity unknown",
            }
            rule = (
                f"{rules.min_months} months in {rules.window_months}, {continuous[rules.continuous]}, "
                f"{'in Canada' if rules.experience_location == 'canada_only' else 'in Canada or abroad'}"
            )
        else:
            rule = "not assessable from nocfit's data" if not rules.assessable else "see notes"
        print(f"  {category.id:<38} {len(category.nocs):>3} codes  {rule}", file=out)
    return 0
