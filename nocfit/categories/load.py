"""Read and check the curated category files in ``data/categories/``.

``load_versions`` validates every ``cbs-*.yaml`` against :mod:`nocfit.categories.model`; the
``check_*`` functions add the checks one file cannot make alone (NOC codes against the official
structure, versions against each other, draw names against versions). Every problem raises
:class:`CategoryDataError` with a message naming the file and what is wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from nocfit import config
from nocfit.categories.model import Category, CategoryVersion, DrawNameMap

DRAW_NAMES_FILE = "draw_names.yaml"
M = TypeVar("M", bound=BaseModel)


class CategoryDataError(ValueError):
    """A curated category file is malformed or inconsistent."""


class UnmappedDrawName(CategoryDataError):
    """An IRCC round name is in neither list of ``draw_names.yaml``."""


def _location(loc: Sequence[str | int]) -> str:
    """Pydantic location ('categories', 3, 'nocs', 2, 'code') as 'categories[3].nocs[2].code'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _read_model(path: Path, model: type[M]) -> M:
    """Parse one YAML file into ``model``; errors name the file and the line or field."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CategoryDataError(f"{path.name}{where}: YAML syntax error: {problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CategoryDataError(f"{path.name}: cannot read: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [f"{path.name}: {_location(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise CategoryDataError("\n".join(problems)) from None


def versions_from_warehouse(con) -> list[CategoryVersion]:
    """The category versions a refresh loaded into ``ircc.category_versions``, oldest first."""
    rows = con.execute("SELECT definition FROM ircc.category_versions ORDER BY effective_from").fetchall()
    return [CategoryVersion.model_validate_json(row[0]) for row in rows]


def load_versions(folder: Path | None = None) -> list[CategoryVersion]:
    """Every ``cbs-*.yaml`` in ``folder`` (default ``config.categories_dir()``), oldest first.

    Each file must be named after its ``version_id``; the versions must not overlap
    (:func:`check_no_overlap`).
    """
    folder = folder or config.categories_dir()
    paths = sorted(folder.glob(CategoryVersion.FILE_GLOB))
    if not paths:
        raise CategoryDataError(f"{folder}: no category files (cbs-*.yaml) found")
    versions = []
    for path in paths:
        version = _read_model(path, CategoryVersion)
        if path.stem != version.version_id:
            raise CategoryDataError(
                f"{path.name}: version_id {version.version_id!r} does not match the file name "
                f"(expected {path.stem!r})"
            )
        versions.append(version)
    versions.sort(key=lambda v: v.effective_from)
    check_no_overlap(versions)
    return versions


def check_against_noc(versions: Iterable[CategoryVersion], unit_groups: dict[str, str]) -> None:
    """Every listed code must be a NOC 2021 unit group and its title the official title.

    ``unit_groups`` maps code -> official class title (level-5 rows of the structure file).
    All problems are reported together.
    """
    problems = []
    for version in versions:
        for category in version.categories:
            for noc in category.nocs:
                where = f"{version.file_name}: {version.version_id}, category {category.id}, code {noc.code}"
                official = unit_groups.get(noc.code)
                if official is None:
                    problems.append(f"{where}: not a NOC 2021 V1.0 unit group")
                elif noc.title != official:
                    problems.append(f"{where}: title {noc.title!r} is not the official title {official!r}")
    if problems:
        raise CategoryDataError("\n".join(problems))


def check_no_overlap(versions: Iterable[CategoryVersion]) -> None:
    """Versions must not share a day; so only the newest may be open-ended (effective_to null)."""
    ordered = sorted(versions, key=lambda v: v.effective_from)
    ids = [v.version_id for v in ordered]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CategoryDataError(f"version id(s) used twice: {', '.join(duplicates)}")
    for older, newer in zip(ordered, ordered[1:], strict=False):
        if older.effective_to is None or older.effective_to >= newer.effective_from:
            end = older.effective_to or "open-ended (effective_to: null)"
            raise CategoryDataError(
                f"{older.file_name} and {newer.file_name}: versions {older.version_id} "
                f"({older.effective_from} to {end}) and {newer.version_id} (from {newer.effective_from}) "
                f"overlap; set {older.version_id}'s effective_to to the day before {newer.effective_from}"
            )


def version_in_force(
    day: dt.date, versions: Sequence[CategoryVersion] | None = None
) -> CategoryVersion | None:
    """The version covering ``day``; None before the first version (or in a gap)."""
    versions = load_versions() if versions is None else versions
    return next((v for v in versions if v.covers(day)), None)


def categories_in_force(
    day: dt.date, versions: Sequence[CategoryVersion] | None = None
) -> tuple[CategoryVersion | None, tuple[Category, ...]]:
    """The version in force on ``day`` and its categories on that day (category dates applied)."""
    version = version_in_force(day, versions)
    return (version, version.categories_on(day)) if version else (None, ())


def load_draw_names(folder: Path | None = None) -> DrawNameMap:
    """``draw_names.yaml``; a name listed twice (or in both lists) is an error."""
    path = (folder or config.categories_dir()) / DRAW_NAMES_FILE
    draw_map = _read_model(path, DrawNameMap)
    names = [d.draw_name for d in draw_map.category_draws] + list(draw_map.non_category_draws)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise CategoryDataError(f"{path.name}: draw name(s) listed more than once: {repeated}")
    return draw_map


def check_draw_names(draw_map: DrawNameMap, versions: Iterable[CategoryVersion]) -> None:
    """Each category draw name must point at existing versions that have its category."""
    by_id = {v.version_id: v for v in versions}
    problems = []
    for entry in draw_map.category_draws:
        for version_id in entry.version_ids:
            version = by_id.get(version_id)
            if version is None:
                problems.append(f"{DRAW_NAMES_FILE}: {entry.draw_name!r}: unknown version {version_id}")
            elif entry.category_id not in {c.id for c in version.categories}:
                problems.append(
                    f"{DRAW_NAMES_FILE}: {entry.draw_name!r}: version {version_id} has no category "
                    f"{entry.category_id}"
                )
    if problems:
        raise CategoryDataError("\n".join(problems))


def _days_apart(day: dt.date, version: CategoryVersion) -> int:
    if day < version.effective_from:
        return (version.effective_from - day).days
    if version.effective_to is not None and day > version.effective_to:
        return (day - version.effective_to).days
    return 0


def category_for_draw(
    draw_name: str, draw_date: dt.date, draw_map: DrawNameMap, versions: Sequence[CategoryVersion]
) -> tuple[str | None, str | None]:
    """(category_id, version_id) of a round, or (None, None) for a non-category round.

    The version is the one in force on ``draw_date`` when the name is listed for it. Otherwise
    (IRCC sometimes uses a new label before the new version is announced, e.g. the 2026 French
    label on 2026-02-06) it is the listed version whose period is nearest to the date; on a tie
    the latest. Raises :class:`UnmappedDrawName` for a name in neither list of the map.
    """
    entry = next((d for d in draw_map.category_draws if d.draw_name == draw_name), None)
    if entry is None:
        if draw_name in draw_map.non_category_draws:
            return None, None
        raise UnmappedDrawName(
            f"IRCC round name {draw_name!r} ({draw_date}) is not in {DRAW_NAMES_FILE}; add it to "
            "category_draws or non_category_draws"
        )
    in_force = version_in_force(draw_date, versions)
    if in_force is not None and in_force.version_id in entry.version_ids:
        return entry.category_id, in_force.version_id
    listed = [v for v in versions if v.version_id in entry.version_ids]
    if not listed:
        raise CategoryDataError(
            f"{DRAW_NAMES_FILE}: {draw_name!r} lists versions {list(entry.version_ids)}, none of which is loaded"
        )
    nearest = min(listed, key=lambda v: (_days_apart(draw_date, v), -v.effective_from.toordinal()))
    return entry.category_id, nearest.version_id
