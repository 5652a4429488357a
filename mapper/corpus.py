"""The NOC 2021 reference data the mapper learns from, loaded from the warehouse tables."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Container, Iterable
from dataclasses import dataclass, field

from mapper.normalize import acronym_form, normalize_title, singular


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
    #: sha256 of the texts above: a model is retrained exactly when what it learns from changed
    #: (not when a source file it never reads changed, and also when an optional file went away).
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
        corpus = cls(
            unit_groups=unit_groups,
            titles=titles,
            duties=without_subheadings([tuple(d) for d in duties], titles),
            lead_statements=[tuple(x) for x in leads],
            workplaces=[tuple(x) for x in workplaces],
        )
        corpus.source_fingerprint = corpus.content_fingerprint()
        return corpus

    def content_fingerprint(self) -> str:
        digest = hashlib.sha256()
        groups = [(u.code, u.title, u.teer, u.definition) for u in self.unit_groups.values()]
        for rows in (groups, self.titles, self.duties, self.lead_statements, self.workplaces):
            for row in rows:
                digest.update(("\x1f".join(map(str, row)) + "\x1e").encode())
            digest.update(b"\x1d")
        return digest.hexdigest()


def acronym_titles(titles: Iterable[tuple[str, str]], title_words: Container[str]) -> list[tuple[str, str]]:
    """(code, title) with the official acronym in place of its words, as people write it:
    'CAD technician' for 'computer-assisted drafting (CAD) technician', 'RMT' for 'registered
    massage therapist (RMT)'. Left out: an acronym that titles write as a word in lower case
    ('PET' for positron emission tomography is not the 'pet' of 'pet groomer'; 'CAD', written
    in capitals in 'CAD/CAM programmer', counts), and a form that is another group's title."""
    titles = list(titles)
    owners: dict[str, set[str]] = defaultdict(set)
    for code, title in titles:
        owners[normalize_title(title)].add(code)
    found = []
    for code, title in titles:
        form = acronym_form(title)
        if form is None or form[1].lower() in title_words:
            continue
        if owners.get(normalize_title(form[0]), {code}) <= {code}:
            found.append((code, form[0]))
    return found


def french_gender_forms(title: str) -> list[str]:
    """The masculine and the feminine title that a French pair writes as one
    ('Chauffeur/chauffeuse de camion' -> 'Chauffeur de camion', 'Chauffeuse de camion'), or []
    for a title that is no such pair.

    People write one form ('Chauffeur de camion', 'Serveuse'); the pair read as one title
    ('chauffeur chauffeuse de camion') is an exact match for neither, and 'Chauffeur de camion'
    went to truck-driver supervisors. The words before the slash are the masculine form of the
    same number of words after it, the rest is shared: 'Député/députée à l'Assemblée' ->
    'Député à l'Assemblée', 'Conseiller municipal/conseillère municipale' -> 'Conseiller
    municipal'. (All but 3 of the 25,465 French pairs in the bilingual index are written so.)
    """
    if title.count("/") != 1:
        return []
    left, right = (part.split() for part in title.split("/"))
    if not left or not right:
        return []
    if len(right) < len(left):
        # The pair ends the title: 'Technologue en santé animale autorisé/autorisée' (the same
        # word twice, so it begins alike), or two titles: "Chanteur d'opéra/cantatrice".
        cut = len(left) - len(right)
        alike = right[0][:3].casefold() == left[cut][:3].casefold()
        masculine, feminine = " ".join(left), " ".join(left[:cut] + right if alike else right)
    else:
        masculine, feminine = " ".join(left + right[len(left) :]), " ".join(right)
    return [masculine, feminine[0].upper() + feminine[1:]]


def without_subheadings(
    duties: list[tuple[str, str]], titles: list[tuple[str, str, str]]
) -> list[tuple[str, str]]:
    """The main duties without the sub-headings that OaSIS puts among them.

    Unit groups of several occupations list each one's duties under its name ("Court clerks",
    "Court officers" in 14103; "Barbers" in 63210). Such a line is no duty: it would match a
    letter's title, count in the coverage denominator, and show as a "closest main duty". A
    line is a sub-heading when it is short (at most 6 words, no comma, no final full stop) and
    either reads as a title of its own unit group, or ends in the plural of a word that ends
    many official titles ('operators', 'supervisors') and does not start with a verb that
    starts longer duties.
    """
    own: dict[str, set[str]] = defaultdict(set)
    heads: Counter[str] = Counter()
    for code, title, kind in titles:
        if kind.startswith("all_examples_fr"):
            continue
        norm = normalize_title(title)
        if norm:
            own[code].add(norm)
            heads[norm.split()[-1]] += 1
    verbs = Counter(duty.split()[0].lower() for _, duty in duties if len(duty.split()) > 6)

    def subheading(code: str, line: str) -> bool:
        words = line.split()
        if not words or len(words) > 6 or "," in line or line.rstrip().endswith("."):
            return False
        if normalize_title(line) in own[code]:
            return True
        last = words[-1].lower()
        return singular(last) != last and heads[singular(last)] >= 10 and verbs[words[0].lower()] < 2

    return [(code, duty) for code, duty in duties if not subheading(code, duty)]
