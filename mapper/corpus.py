"""The NOC 2021 reference data the mapper learns from, loaded from the warehouse tables."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class UnitGroup:
    code: str
    title: str
    teer: int
    definition: str


@dataclass
class NocCorpus:
    """Plain lists of official texts, each labelled with its five-digit NOC 2021 code.

    ``titles`` holds (code, title, kind) with kind one of index / example / inclusion /
    profile_label / class_title / all_examples_en / all_examples_fr / exclusion (an excluded
    title is an example of the code it points to).
    """

    unit_groups: dict[str, UnitGroup]
    titles: list[tuple[str, str, str]] = field(default_factory=list)
    duties: list[tuple[str, str]] = field(default_factory=list)
    lead_statements: list[tuple[str, str]] = field(default_factory=list)
    workplaces: list[tuple[str, str]] = field(default_factory=list)  # (code, workplace or employer)
    source_fingerprint: str = ""

    @classmethod
    def from_duckdb(cls, con) -> NocCorpus:
        """Read the corpus from a warehouse connection (tables noc.*)."""
        unit_groups = {
            code: UnitGroup(code, title, teer, definition)
            for code, title, teer, definition in con.execute(
                "SELECT code, title, teer, definition FROM noc.unit_groups ORDER BY code"
            ).fetchall()
        }
        titles = [
            (code, title, kind)
            for code, title, kind in con.execute(
                "SELECT code, title, title_type FROM noc.titles ORDER BY code, title_type, title"
            ).fetchall()
        ]
        titles += [
            (code, title, f"all_examples_{lang}")
            for code, title, lang in con.execute(
                "SELECT code, title, lang FROM noc.all_examples ORDER BY code, lang, title"
            ).fetchall()
        ]
        titles += [
            (code, title, "exclusion")
            for code, title in con.execute(
                "SELECT DISTINCT excluded_code, coalesce(title, excluded_label) FROM noc.exclusions ORDER BY 1, 2"
            ).fetchall()
        ]
        duties = con.execute(
            "SELECT code, duty FROM noc.main_duties ORDER BY code, profile_code, seq"
        ).fetchall()
        leads = con.execute(
            "SELECT code, statement FROM noc.lead_statements ORDER BY code, profile_code, seq"
        ).fetchall()
        workplaces = con.execute(
            "SELECT DISTINCT code, workplace FROM noc.workplaces ORDER BY code, workplace"
        ).fetchall()
        fingerprint_rows = con.execute(
            "SELECT string_agg(source_key || '=' || sha256, ';' ORDER BY source_key) FROM meta.source_files "
            "WHERE source_key LIKE 'noc_%' OR source_key LIKE 'oasis_%'"
        ).fetchone()
        return cls(
            unit_groups=unit_groups,
            titles=titles,
            duties=[tuple(d) for d in duties],
            lead_statements=[tuple(x) for x in leads],
            workplaces=[tuple(x) for x in workplaces],
            source_fingerprint=(fingerprint_rows[0] or "") if fingerprint_rows else "",
        )
