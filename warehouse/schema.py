"""The warehouse DDL (``schema.sql``) and its version."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

SCHEMA_FILE = Path(__file__).with_name("schema.sql")

#: Tables a publishable snapshot must never have empty: a snapshot missing them is incomplete.
CORE_TABLES = (
    "noc.structure",
    "noc.unit_groups",
    "noc.titles",
    "noc.main_duties",
    "noc.lead_statements",
    "noc.exclusions",
    "noc.concordance_2016_2021",
    "ircc.category_versions",
    "ircc.categories",
    "ircc.category_occupations",
    "ircc.rounds",
)


@lru_cache(maxsize=1)
def ddl() -> str:
    return SCHEMA_FILE.read_text(encoding="utf-8")


def schema_version() -> str:
    """Changes whenever schema.sql changes; a snapshot of another version is rebuilt."""
    return hashlib.sha256(ddl().encode()).hexdigest()[:16]


def apply(con) -> None:
    """Create every schema, table and view (idempotent)."""
    con.execute(ddl())
