"""The curated category-list format (``data/categories/*.yaml``), as pydantic models.

One YAML file per category-list version. Every rule field must be written out: ``null`` means
"does not apply" and the string ``unknown`` means "the sources do not settle it", so a missing
fact is always explicit, never silently absent. ``nocfit categories --schema`` prints the JSON
Schema generated from these models.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Confidence = Literal["high", "medium-high", "medium", "low"]
Unknown = Literal["unknown"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Citation(_Strict):
    """A source that supports facts in this file (ids are referenced by categories)."""

    id: str
    type: Literal["official", "official-copy", "official-data", "third-party", "repository"]
    title: str
    publisher: str | None
    url: str | None
    date: str | None  # as precise as known: "2026-02-18", "2026-02", "2025"
    supports: str
    caveat: str | None = None


class LanguageRule(_Strict):
    language: Literal["fr", "en"]
    scale: Literal["NCLC", "CLB"]
    min_level: int = Field(ge=1, le=12)
    abilities: tuple[Literal["listening", "reading", "speaking", "writing"], ...]
    #: Results older than this (test date to the assessment date) do not count.
    test_validity_months: int = Field(gt=0)


class Rules(_Strict):
    """Requirements of one category. Every field is required (``null`` = not applicable)."""

    min_months: int | None = Field(ge=1)
    window_months: int | None = Field(ge=1)
    continuous: bool | Unknown | None
    single_occupation: bool | None
    full_time_hours_per_week: float | None = Field(gt=0)
    experience_location: Literal["canada_or_abroad", "canada_only"] | None
    canadian_experience_required: bool
    canadian_experience_min_months: int | None
    language: LanguageRule | None
    #: False when the requirements cannot be shown by the data nocfit has (e.g. military service).
    assessable: bool
    not_assessable_reason: str | None
    other_requirements: tuple[str, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Rules:
        if not self.assessable and not self.not_assessable_reason:
            raise ValueError("a category that is not assessable needs not_assessable_reason")
        if self.canadian_experience_required and self.experience_location != "canada_only":
            raise ValueError("canadian_experience_required needs experience_location: canada_only")
        return self


class Occupation(_Strict):
    code: str = Field(pattern=r"^\d{5}$")
    title: str  # the official NOC 2021 V1.0 class title
    confidence: Confidence = "high"


class Category(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    kind: Literal["occupation", "language", "other"]
    #: Set only when the category started or ended inside its version's period.
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    rules: Rules
    rules_confidence: Confidence
    confidence: Confidence  # of the occupation list as compiled
    citations: tuple[str, ...] = Field(min_length=1)
    nocs: tuple[Occupation, ...]
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _kind_matches(self) -> Category:
        if self.kind == "occupation":
            if not self.nocs:
                raise ValueError(f"occupation category {self.id} lists no NOC codes")
            missing = [
                f
                for f in (
                    "min_months",
                    "window_months",
                    "single_occupation",
                    "experience_location",
                    "full_time_hours_per_week",
                )
                if getattr(self.rules, f) is None
            ]
            if missing or self.rules.continuous is None:
                raise ValueError(
                    f"occupation category {self.id} must set {', '.join(missing + ['continuous'])} "
                    "(write 'unknown' for continuous when the sources do not settle it)"
                )
        if self.kind == "language" and self.rules.language is None:
            raise ValueError(f"language category {self.id} needs rules.language")
        codes = [n.code for n in self.nocs]
        if len(codes) != len(set(codes)):
            raise ValueError(f"category {self.id} lists a NOC code twice")
        return self

    def codes(self) -> tuple[str, ...]:
        return tuple(n.code for n in self.nocs)


class CategoryVersion(_Strict):
    """One category-list version, e.g. ``cbs-2026``."""

    schema_version: Literal[1]
    version_id: str = Field(pattern=r"^cbs-\d{4}[a-z0-9-]*$")
    label: str
    effective_from: dt.date
    effective_from_basis: str
    effective_to: dt.date | None  # inclusive; null = still in force
    effective_to_basis: str
    noc_version: Literal["NOC 2021 V1.0"]
    common_requirement: str
    citations: tuple[Citation, ...] = Field(min_length=1)
    categories: tuple[Category, ...] = Field(min_length=1)
    notes: tuple[str, ...] = ()

    #: The curated files are ``<version_id>.yaml`` (``cbs-*.yaml``) in the categories folder.
    FILE_GLOB: ClassVar[str] = "cbs-*.yaml"

    @property
    def file_name(self) -> str:
        return f"{self.version_id}.yaml"

    @field_validator("categories")
    @classmethod
    def _unique_ids(cls, categories: tuple[Category, ...]) -> tuple[Category, ...]:
        ids = [c.id for c in categories]
        if len(ids) != len(set(ids)):
            raise ValueError("category ids must be unique within a version")
        return categories

    @model_validator(mode="after")
    def _dates_and_citations(self) -> CategoryVersion:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        known = {c.id for c in self.citations}
        for category in self.categories:
            unknown = [c for c in category.citations if c not in known]
            if unknown:
                raise ValueError(f"category {category.id} cites unknown citation id(s) {unknown}")
        return self

    def covers(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def categories_on(self, day: dt.date) -> tuple[Category, ...]:
        """Categories of this version in force on ``day`` (category-level dates applied)."""
        return tuple(
            c
            for c in self.categories
            if (c.effective_from is None or c.effective_from <= day)
            and (c.effective_to is None or day <= c.effective_to)
        )


class DrawName(_Strict):
    draw_name: str  # exactly as published in the IRCC rounds JSON
    category_id: str
    version_ids: tuple[str, ...] = Field(min_length=1)


class DrawNameMap(_Strict):
    """``data/categories/draw_names.yaml``: IRCC round names -> category (and versions)."""

    schema_version: Literal[1]
    category_draws: tuple[DrawName, ...]
    non_category_draws: tuple[str, ...]
