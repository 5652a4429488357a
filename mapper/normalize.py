"""One text cleaner shared by index building and queries.

``normalize_title`` turns any job-title string into a canonical, lower-case, accent-free form:
HTML entities decoded, abbreviations expanded (sr -> senior, mgr -> manager, ...), grade
markers dropped (II, level 3), plurals reduced, and "X of Y" rewritten as "Y X" ("director of
research" -> "research director"). ``split_roles`` cuts strings naming several roles
("SR. SOFTWARE DEV / TEAM LEAD"). Inputs of any size are cut to a bounded length first, so
every function here runs in bounded time.
"""

from __future__ import annotations

import html
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Container, Iterable
from functools import lru_cache

MAX_TITLE_CHARS = 300
MAX_TEXT_CHARS = 20_000
#: Duty lines read from one query: the alignment, its coverage and the signals all use these.
MAX_DUTY_LINES = 40

ABBREVIATIONS = {
    "sr": "senior",
    "snr": "senior",
    "jr": "junior",
    "jnr": "junior",
    "mgr": "manager",
    "mgrs": "manager",
    "mngr": "manager",
    "mgmt": "management",
    "asst": "assistant",
    "assts": "assistant",
    "assist": "assistant",
    "assoc": "associate",
    "tech": "technician",
    "techs": "technician",
    "technol": "technologist",
    "eng": "engineer",
    "engs": "engineer",
    "engr": "engineer",
    "engrs": "engineer",
    "engg": "engineering",
    "admin": "administrative",
    "adm": "administrative",
    "dev": "developer",
    "devs": "developer",
    "ops": "operations",
    "op": "operator",
    "oper": "operator",
    "acct": "accountant",
    "accts": "accounts",
    "svc": "service",
    "svcs": "services",
    "serv": "service",
    "rep": "representative",
    "reps": "representative",
    "coord": "coordinator",
    "coords": "coordinator",
    "supv": "supervisor",
    "supvs": "supervisor",
    "supvr": "supervisor",
    "supt": "superintendent",
    "dir": "director",
    "dirs": "director",
    "exec": "executive",
    "execs": "executive",
    "vp": "vice president",
    "svp": "senior vice president",
    "avp": "assistant vice president",
    "ceo": "chief executive officer",
    "cfo": "chief financial officer",
    "coo": "chief operating officer",
    "cto": "chief technology officer",
    "cio": "chief information officer",
    "hr": "human resources",
    "it": "information technology",
    "qa": "quality assurance",
    "qc": "quality control",
    "rn": "registered nurse",
    "lpn": "licensed practical nurse",
    "rpn": "registered psychiatric nurse",
    "np": "nurse practitioner",
    "cna": "nurse aide",
    "psw": "personal support worker",
    # Canadian care and health acronyms that official titles write out in full
    "hca": "health care aide",
    "cyw": "child and youth worker",
    "dsw": "developmental service worker",
    "mlt": "medical laboratory technologist",
    "rdh": "registered dental hygienist",
    "cda": "certified dental assistant",
    "slp": "speech-language pathologist",
    "rece": "registered early childhood educator",
    "ece": "early childhood educator",
    "gp": "general practitioner",
    "md": "physician",
    "dr": "doctor",
    "prof": "professor",
    "lect": "lecturer",
    "instr": "instructor",
    "sw": "software",
    "swe": "software engineer",
    "sde": "software developer",
    "pm": "project manager",
    "dba": "database administrator",
    "sysadmin": "system administrator",
    "sys": "system",
    "vet": "veterinarian",
    "ux": "user experience",
    "ui": "user interface",
    "ai": "artificial intelligence",
    "ml": "machine learning",
    "cnc": "computer numerical control",
    "hvac": "heating ventilation air conditioning",
    "elec": "electrical",
    "mech": "mechanical",
    "maint": "maintenance",
    "mfg": "manufacturing",
    "prod": "production",
    "dept": "department",
    "govt": "government",
    "gov": "government",
    "intl": "international",
    "natl": "national",
    "mktg": "marketing",
    "mkt": "marketing",
    "acctg": "accounting",
    "fin": "financial",
    "cust": "customer",
    "csr": "customer service representative",
    "emt": "emergency medical technician",
    "lab": "laboratory",
    "med": "medical",
    "pharm": "pharmacy",
    "gen": "general",
    "genl": "general",
    "trng": "training",
    "spec": "specialist",
    "spcl": "specialist",
    "bldg": "building",
    "const": "construction",
    "constr": "construction",
    "equip": "equipment",
    "ofc": "office",
    "info": "information",
    "comms": "communications",
    "r&d": "research and development",
    "p&c": "property and casualty",
}
#: Abbreviations with other readings than ABBREVIATIONS' one: "admin" is administrative work in
#: "Admin Assistant" but a network administrator in "Network Admin", "acct" an account in "Acct
#: Exec", "eng" engineering in "Eng Mgr", "tech" technical in "Tech Support". ``TitleIndex.read``
#: takes another reading only when it makes an official title, or more of the word pairs that
#: official titles use.
OTHER_READINGS = {
    "admin": ("administrator", "administration"),
    "adm": ("administrator", "administration"),
    "acct": ("account", "accounting"),
    "tech": ("technical", "technology", "technologist"),
    "eng": ("engineering",),
    "dev": ("development",),
    "prod": ("product",),
    "coord": ("coordination",),
    "sys": ("systems",),
    "vet": ("veterinary",),
    "elec": ("electrician", "electronics"),
    "mech": ("mechanic",),
    "fin": ("finance",),
}
#: At most this many readings of one title are compared (each abbreviation multiplies them).
MAX_READINGS = 16
#: A cheap test on the title as written, before folding it: most titles have no such abbreviation.
_MAY_HAVE_OTHER_READINGS = re.compile(
    r"(?<![^\W_])(?:" + "|".join(sorted(OTHER_READINGS)) + r")(?![^\W_])", re.IGNORECASE
)
Readings = tuple[tuple[str, str], ...]  # (abbreviation, reading) pairs for normalize_title

# Words that mark a grade or contract, not an occupation: numerals always; 'level', 'grade' and
# 'step' only before a numeral ("Clerk Grade 3"), since official titles use them otherwise
# ("grade school teacher", "grade tamper").
GRADE_NUMERALS = frozenset("i ii iii iv v vi 1 2 3 4 5".split())
GRADE_NOUNS = frozenset("level grade step".split())
#: "Co-op" (work placements, co-operatives), one word: not 'co' and 'op', the operator abbreviation.
_CO_OP = re.compile(r"\bco[\s-]+ops?\b")
#: Driver's licence classes written in a driver's title ("AZ Driver", "Class 1 Driver"): what
#: each licenses, as NOC names it. Ontario: A for tractor-trailers, D for trucks, B and C for
#: buses, Z for air brakes; Alberta, British Columbia, Saskatchewan and Manitoba: Class 1 for
#: semi-trailers, 3 for trucks with three or more axles, 2 for buses. Only right beside 'driver'
#: or 'trucker' (a truck or bus between) that ends a role: water treatment operators and welders
#: have classes too, "Class 1 Delivery Driver" is a delivery driver and "AZ Driver Trainer" a
#: trainer. A title that names the vehicle keeps it ("Class 1 Bus Driver" is a bus driver).
_LICENCE_READINGS = {
    **dict.fromkeys(("1", "a", "az"), "tractor trailer truck"),
    **dict.fromkeys(("3", "d", "dz"), "truck"),
    **dict.fromkeys(("2", "b", "bz", "c", "cz"), "bus"),
}
_CLASS = r"(?:class\s*[-#]?\s*(?P<{0}>1|2|3|a|b|c|d|az|bz|cz|dz)|(?P<{1}>az|bz|cz|dz))"
_DRIVER = r"(?P<{0}>(?:truck|bus)\s+)?(?P<{1}>drivers?|truckers?)"
_LICENCE_CLASS = re.compile(
    rf"\b{_CLASS.format('class1', 'licence1')}\s+{_DRIVER.format('vehicle1', 'driver1')}\b(?!\s*[a-z])"  # "AZ Driver"
    rf"|^\s*{_DRIVER.format('vehicle2', 'driver2')}\s*[-,:(]?\s*{_CLASS.format('class2', 'licence2')}\)?(?!\w)"
)  # ... and "Driver (AZ)", the whole title ("Delivery Driver (Class 1)" is a delivery driver)
#: Ordinals as NOC writes them: "4th Class Power Engineer" is its 'fourth-class power engineer';
#: but "2nd Year Apprentice" is in a year of training, which is no part of the title.
_ORDINALS = {"1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth", "5th": "fifth"}
_ORDINAL = re.compile(r"\b(?:" + "|".join(_ORDINALS) + r")\b")
_ANY_DIGIT = re.compile(r"\d")
_YEAR_OF_TRAINING = re.compile(r"\b(?:\d+(?:st|nd|rd|th)|first|second|third|fourth|fifth)[\s-]+year\b")
#: Initials written with dots ("V.P.", "I.T.", "R.N."), read as the plain acronym.
_DOTTED_INITIALS = re.compile(r"(?<![\w.])([A-Za-z](?:\.[A-Za-z])+)\.?(?!\w)")
_CONTRACT = re.compile(
    r"\b(?:full|part)[\s-]?time\b|\b\d+\s*(?:months?|mos?|years?|yrs?)\b|\b(?:temporary|temp|on[\s-]?site)\b"
)
#: Contract words that official titles also use ("contract manager", "seasonal tree planter")...
_TITLE_CONTRACT_WORDS = "(?:term|contract|casual|permanent|seasonal|remote|hybrid)"
_CONTRACT_OR_TITLE = re.compile(rf"\b{_TITLE_CONTRACT_WORDS}\b")
#: ... but no official title ends with one: after the role they are always the contract.
_TRAILING_CONTRACT = re.compile(rf"(?:\W+{_TITLE_CONTRACT_WORDS})+\W*$")
_KEEP_PLURAL = frozenset(
    "analysis business class glass gas bus boss press process series species news lens mass cross "
    "status chassis physics mathematics economics statistics logistics athletics aerobics "
    "graphics electronics mechanics robotics pharmaceutics ethics politics kinesiology "
    "affairs arts sales services operations communications systems relations works customs "
    "goods utilities means arms".split()
)
_IRREGULAR = {
    "women": "woman",
    "men": "man",
    "people": "person",
    "children": "child",
    "wives": "wife",
    "knives": "knife",
    "chiefs": "chief",
    "staff": "staff",
    "feet": "foot",
    "teeth": "tooth",
}
_TAG = re.compile(r"<[^>]{0,200}>")
_SEPARATORS = re.compile(r"\s*(?:/|\||;|\+|\s-\s|\s–\s|\s—\s|\bcum\b)\s*")
_NON_WORD = re.compile(r"[^a-z0-9&]+")
_OF = re.compile(r"^(?P<head>.+?)\s+(?:of|for)\s+(?:the\s+)?(?P<tail>.+)$")
_HEAD_WORDS = frozenset(
    "director manager supervisor head chief coordinator officer professor teacher instructor "
    "dean president vice minister commissioner superintendent inspector administrator "
    "specialist consultant analyst assistant clerk technician engineer lecturer chair".split()
)


#: The ASCII characters that are neither printable nor white space (what ``fold`` drops).
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")
# NOC writes gender pairs as "foreman/woman"; people write "foreman" (and the slash is no role break).
_GENDER_PAIR = re.compile(r"\b(\w*?)(man|men)/wo(?:man|men)\b", re.IGNORECASE)


def fold(text: str) -> str:
    """Lower case without accents, HTML entities or tags; bounded length."""
    # Tags again after unescaping: "&lt;b&gt;" is a tag too.
    text = _TAG.sub(" ", html.unescape(_TAG.sub(" ", text[:MAX_TEXT_CHARS])))
    if text.isascii():  # nothing to decompose: skips a per-character loop (most text is ASCII)
        text = _ASCII_CONTROL.sub("", text)
    else:
        text = unicodedata.normalize("NFKD", text)
        text = "".join(
            ch for ch in text if not unicodedata.combining(ch) and (ch.isprintable() or ch.isspace())
        )
    return _GENDER_PAIR.sub(r"\1\2", text.lower())


def clear_caches() -> None:
    """Forget memoised words and titles (benchmarks measure a fresh process this way)."""
    singular.cache_clear()
    _normalize_title.cache_clear()


@lru_cache(maxsize=200_000)
def singular(word: str) -> str:
    """A cheap English singular ('nurses' -> 'nurse', 'secretaries' -> 'secretary')."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3 or word in _KEEP_PLURAL or not word.endswith("s"):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is", "ous")):
        return word
    return word[:-1]


#: Abbreviations that are everyday words in sentences, so expanded in titles only: in duty text
#: 'assist' is a verb (the first word of 142 NOC main duties), 'it' a pronoun, 'pm' a time,
#: 'ml' a quantity. 'IT' in capitals is still read as information technology.
TITLE_ONLY_ABBREVIATIONS = frozenset({"assist", "it", "op", "pm", "ml", "vet"})
_CAPITAL_IT = re.compile(r"\bIT\b")


def _expand(tokens: list[str], keep: frozenset[str] = frozenset(), readings: Readings = ()) -> list[str]:
    chosen = dict(readings)
    out: list[str] = []
    for token in tokens:
        if token in keep:
            out.append(token)
        else:
            out.extend((chosen.get(token) or ABBREVIATIONS.get(token, token)).split())
    return out


def _rewrite_of(text: str) -> str:
    """'director of research' -> 'research director' (only for known head nouns)."""
    match = _OF.match(text)
    if match and match.group("head").split()[-1] in _HEAD_WORDS and len(match.group("tail").split()) <= 5:
        return f"{match.group('tail')} {match.group('head')}"
    return text


def _invert_comma(text: str) -> str:
    """'manager, client engagement' -> 'client engagement manager' when the head is a known noun."""
    head, sep, tail = text.partition(",")
    words = _NON_WORD.sub(" ", head).split()
    last = ABBREVIATIONS.get(words[-1], words[-1]).split()[-1] if words else ""
    if (
        sep
        and head.strip()
        and last in _HEAD_WORDS  # 'mgr' is a head noun too
        and "," not in tail
        and len(tail.split()) <= 5
    ):
        return f"{tail.strip()} {head.strip()}"
    return text


def normalize_title(text: str, readings: Readings = ()) -> str:
    """Canonical form of a job title (also used for index titles); ``readings`` reads some
    abbreviations otherwise than ABBREVIATIONS does (one of ``abbreviation_readings``)."""
    return _normalize_title(text[:MAX_TITLE_CHARS], readings)


def abbreviation_readings(text: str) -> list[Readings]:
    """Every way of reading the title's abbreviations that have OTHER_READINGS (at most
    MAX_READINGS), the usual reading first; ``[()]`` when there is nothing to choose."""
    text = text[:MAX_TITLE_CHARS]
    if text.isascii() and not _MAY_HAVE_OTHER_READINGS.search(text):  # else folding may make one
        return [()]
    tokens = _NON_WORD.sub(" ", fold(text)).split()
    found = [t for t in dict.fromkeys(tokens) if t in OTHER_READINGS]
    options = [(ABBREVIATIONS[t], *OTHER_READINGS[t]) for t in found]
    combos = itertools.islice(itertools.product(*options), MAX_READINGS)
    return [tuple(zip(found, combo, strict=True)) for combo in combos] if found else [()]


#: Words that say nothing about an occupation: articles, prepositions, conjunctions, pronouns
#: and auxiliaries (English, and French as in the bilingual index). Input made of these alone
#: ("the and of") has nothing to map. Not scikit-learn's stop list: that one holds words
#: people do write as a whole job ('fire', 'mill', 'system', 'bill').
#: The French ones, as the bilingual index's titles use them ('chauffeur de camion').
FRENCH_FUNCTION_WORDS = frozenset("de des du la le les l d et ou en au aux un une".split())
#: Text with at least this share of French function words ('de', 'la', 'et') is French.
FRENCH_SHARE = 0.15


def looks_french(text: str) -> bool:
    """Whether (duty) text is French: the duty signals compare it with NOC's English main duties."""
    words = normalize_text(text).split()
    return len(words) >= 4 and sum(w in FRENCH_FUNCTION_WORDS for w in words) / len(words) >= FRENCH_SHARE


FUNCTION_WORDS = FRENCH_FUNCTION_WORDS | frozenset(
    """a an the and or nor but of in on at to for from by with without within into onto upon
    over under about between among through during before after as than that this these those
    it its is are was were be been being am do does did i me my you your he him his she her we
    us our they them their who whom whose which what where when why how not no yes so if then
    there here also very just etc per via""".split()
)
#: Titles (normalised) that say there is no title: read as no title, so that "None" or "N/A"
#: over duties is mapped by the duties, and alone gets no suggestion rather than a guess.
PLACEHOLDER_TITLES = frozenset(
    {
        "none", "n a", "na", "nil", "null", "nan", "unknown", "undefined", "tbd", "tba", "not applicable",
        "not available", "not specified", "no title", "unemployed", "not employed", "various",
    }
)  # fmt: skip
#: Words that say how senior a job is, not what it is: "Sr." or "Junior" alone is no title.
SENIORITY_WORDS = frozenset({"senior", "junior", "intermediate"})
#: Titles (normalised) that name a status, not an occupation: "Volunteer", "Co-op Student",
#: "Retired", "Stay-at-home Parent" say nothing of the work done, so the duties decide, as for a
#: placeholder. (Each was mapped with confidence: "Stay-at-home Parent" to home child care
#: providers at 86%.) None is an official title; 'intern' and 'homemaker' are, so are not here.
STATUS_TITLES = frozenset(
    {
        "volunteer", "retired", "retiree", "self employed", "freelancer", "freelance", "job seeker",
        "stay at home parent", "stay at home mom", "stay at home mother", "stay at home dad",
        "stay at home father", "housewife", "househusband", "maternity leave", "parental leave",
        "on leave", "sabbatical", "coop",
    }
)  # fmt: skip
#: A student with no occupation named ("Co-op Student", "Summer Student"; "Full-time Student" is
#: 'student' once the contract words go). "Graduate student" is not here: NOC writes
#: 'graduate' for assistants' work ('graduate assistant').
_STUDENT_STATUS = re.compile(
    r"^(?:(?:coop|summer|international|university|college|high school|secondary school|exchange)\s)*"
    r"student(?:\scoop)?$"
)
#: A co-op or summer student (singular: "Co-op Students" are whom a job serves).
_WORK_TERM = re.compile(r"(?=.*\b(?:co[\s-]*op|summer)\b)(?=.*\bstudent\b)", re.IGNORECASE)
_WORK_TERM_WORDS = re.compile(r"\b(?:co[\s-]*op|summer|student)\b", re.IGNORECASE)


def without_work_term(title: str) -> str:
    """A co-op or summer student's title without those words: what is left is the job or the
    field ("Landscaper - Summer Student" is a landscaper, "Payroll Co-op Student" payroll work;
    "Co-op Engineering Student" says only 'engineering'; "Co-op Student" alone is no title).
    'Co-op' names co-op officers' work in official titles: "Co-op Engineering Student" was
    co-op officers (41320) at 86%."""
    if "student" not in title.lower():  # most titles: skips the regex
        return title
    return _WORK_TERM_WORDS.sub(" ", title) if _WORK_TERM.match(title) else title


def names_no_occupation(title_norm: str) -> bool:
    """Whether a normalised title is a placeholder ("N/A") or a status ("Co-op Student")."""
    return (
        title_norm in PLACEHOLDER_TITLES
        or title_norm in STATUS_TITLES
        or bool(_STUDENT_STATUS.match(title_norm))
    )


def says_no_title(title_norm: str) -> bool:
    """Whether a normalised title is a placeholder, a status or only seniority words."""
    words = title_norm.split()
    return names_no_occupation(title_norm) or bool(words) and all(w in SENIORITY_WORDS for w in words)


_PAREN_ACRONYM = re.compile(r"\(\s*([A-Za-z][A-Za-z.&]{1,14})\s*\)")
_MINOR_WORDS = frozenset({"of", "and", "the", "de", "des", "du", "la", "le", "for", "&"})


def _acronym_letters(match: re.Match) -> str:
    """The letters of a bracketed acronym as written ('(R.N.)' -> 'RN')."""
    return re.sub(r"[^A-Za-z]", "", match.group(1))


def without_bracketed_acronym(title: str) -> str:
    """A published title without a bracketed acronym ('doctor of medicine (MD)' -> 'doctor of
    medicine'): people write the title without it, and '(MD)' is read as 'physician'. A bracketed
    word that narrows the title ('content writer (technical)', 'notary (Quebec)') stays."""

    def drop(match: re.Match) -> str:
        letters = _acronym_letters(match)
        return " " if len(letters) >= 2 and letters.isupper() else match.group(0)

    return _PAREN_ACRONYM.sub(drop, title)


def _initials_start(text: str, match: re.Match) -> int | None:
    """Where the words start that the bracketed acronym ``match`` abbreviates ('Research
    Assistant (RA)': 0), or None when it is not their initials."""
    letters = _acronym_letters(match).lower()
    words = [
        w for w in re.finditer(r"[^\W\d_]+", text[: match.start()]) if w.group(0).lower() not in _MINOR_WORDS
    ]
    if len(letters) < 2 or len(words) < len(letters):
        return None
    abbreviated = words[-len(letters) :]
    return abbreviated[0].start() if "".join(w.group(0)[0].lower() for w in abbreviated) == letters else None


def _drop_acronyms(text: str) -> str:
    """'Research Assistant (RA)' -> 'Research Assistant': a bracketed acronym of the words
    before it adds nothing but an unknown token (the official index writes '(R.N.)', '(MLA)')."""
    return _PAREN_ACRONYM.sub(lambda m: " " if _initials_start(text, m) is not None else m.group(0), text)


def acronym_form(title: str) -> tuple[str, str] | None:
    """(the title written with its bracketed acronym in place of the words it abbreviates, the
    acronym), or None: 'computer-assisted drafting (CAD) technician' -> ('CAD technician', 'CAD'),
    'registered massage therapist (RMT)' -> ('RMT', 'RMT')."""
    for match in _PAREN_ACRONYM.finditer(title):
        start = _initials_start(title, match)
        if start is not None:
            letters = _acronym_letters(match)
            return f"{title[:start]}{letters}{title[match.end() :]}".strip(), letters
    return None


@lru_cache(maxsize=100_000)
def _normalize_title(text: str, readings: Readings = ()) -> str:
    text = fold(_drop_acronyms(_join_initials(text)))
    # (Substring tests first: these regexes cost more than the words they look for. Before the
    # brackets go: "Class 1 Driver (AZ)" ends its driver at the bracket.)
    if "year" in text:
        text = _YEAR_OF_TRAINING.sub(" ", text)
    if "driver" in text or "trucker" in text:
        text = _LICENCE_CLASS.sub(_licence_read, text)
    if _ANY_DIGIT.search(text):
        text = _ORDINAL.sub(lambda m: _ORDINALS[m.group(0)], text)
    text = re.sub(r"\(([^)]*)\)", r" \1 ", text)  # keep parenthesised words, drop brackets
    text = re.sub(r"\bw/", "with ", text)
    text = _CO_OP.sub("coop", text)
    text = _TRAILING_CONTRACT.sub(" ", _CONTRACT.sub(" ", text))
    # "Welder - contract" is a welder; but "contract manager" is an official title, and
    # cutting it to a bare "manager" would make it an exact match for every manager.
    without_terms = _CONTRACT_OR_TITLE.sub(" ", text)
    if len(_NON_WORD.sub(" ", without_terms).split()) >= 2:
        text = without_terms
    text = _invert_comma(text)
    tokens = [t.strip("&") or t for t in _NON_WORD.sub(" ", text).split()]
    tokens = _expand([t for t in tokens if t and t != "&"], readings=readings)
    kept = _without_grades(tokens)
    tokens = kept or tokens
    tokens = [singular(t) for t in tokens]
    return _rewrite_of(" ".join(tokens))


def _licence_read(match: re.Match) -> str:
    """'az driver' -> 'tractor trailer truck driver'; 'class 1 bus driver' -> 'bus driver'
    (``_LICENCE_CLASS``)."""
    found = {k: v for k, v in match.groupdict().items() if v}
    licence = found.get("class1") or found.get("licence1") or found.get("class2") or found.get("licence2")
    vehicle = found.get("vehicle1") or found.get("vehicle2") or f"{_LICENCE_READINGS[licence]} "
    return f" {vehicle}{found.get('driver1') or found.get('driver2')} "


def _join_initials(text: str) -> str:
    return _DOTTED_INITIALS.sub(
        lambda m: m.group(1).replace(".", ""), text
    )  # "R.N" too (split_roles strips the dot)


def _without_grades(tokens: list[str]) -> list[str]:
    nxt = [*tokens[1:], ""][: len(tokens)]
    return [
        t
        for t, after in zip(tokens, nxt, strict=True)
        if t not in GRADE_NUMERALS and not (t in GRADE_NOUNS and after in GRADE_NUMERALS)
    ]


def split_roles(text: str, heads: frozenset[str] = frozenset()) -> list[str]:
    """The separate roles in a title string ('dev / team lead' -> ['dev', 'team lead']).

    A comma separates roles too ('CASHIER, LUNCH COUNTER CLERK') when every comma-separated
    piece ends in a word that ends official titles (``heads``: 'clerk', 'cashier', ...); a
    piece like 'client engagement' after 'manager,' is a specialty, not a second role.
    """
    text = _TAG.sub(" ", html.unescape(_TAG.sub(" ", text[:MAX_TITLE_CHARS])))
    text = _GENDER_PAIR.sub(r"\1\2", text)
    parts = [p.strip(" ,.-") for p in _SEPARATORS.split(text)]
    parts = [piece for p in parts for piece in _comma_roles(p, heads)]
    parts = [p for p in parts if re.search(r"[^\W\d_]", p)]
    return parts or ([text.strip()] if text.strip() else [])


def _comma_roles(part: str, heads: frozenset[str]) -> list[str]:
    pieces = [p.strip(" .-") for p in part.split(",")]
    if len(pieces) < 2 or not heads:
        return [part]
    lasts = [normalize_title(p).split()[-1:] for p in pieces]
    if all(last and last[0] in heads for last in lasts):
        return pieces
    return [part]


_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+|\r+|\s+[•·▪●\-–*]\s+|^\s*[•·▪●\-–*]\s*", re.M)


def split_duties(text: str, *, max_lines: int = MAX_DUTY_LINES) -> list[str]:
    """Duty lines of free text: bullet lines or sentences with a word of 3 letters or more
    ("Clean" is a duty; "-", "1." and "N/A" are not); at most ``max_lines``."""
    text = text[:MAX_TEXT_CHARS]
    lines = []
    for part in _SENTENCE.split(text):
        part = part.strip(" \t.;:-•·▪●*")
        if len(part) >= 4 and re.search(r"[^\W\d_]{3}", part):
            lines.append(part)
        if len(lines) >= max_lines:
            break
    return lines


_HYPHENS = "-\u2010\u2011"  # hyphen-minus, hyphen, non-breaking hyphen (word processors)
#: Two words joined by a hyphen, not after a letter or an apostrophe ("children's-wear" is no
#: 's-wear'), and not before a digit; of a chain, the first pair ('book-keeper' of
#: 'book-keeper-receptionist').
_HYPHENATED = re.compile(rf"(?<![\w'\u2019])([^\W\d_]+)[{_HYPHENS}]([^\W\d_]+)(?![\w])")
#: Two adjacent words, written apart ('X-Y' or 'X Y'), counted by ``words_written_apart``.
_ADJACENT = re.compile(rf"([^\W\d_]+)(?=(?:[{_HYPHENS}]|\s+)([^\W\d_]+))")
_LETTERS = re.compile(r"[^\W\d_]+")
#: The hyphen after these marks another word: 're-cover' is not 'recover', 're-sort' not 'resort'.
KEEP_HYPHEN_AFTER = frozenset({"re"})


def join_hyphenated(text: str, joins: Callable[[str], bool]) -> str:
    """``text`` with each hyphenated pair of words written as one word where ``joins(xy)`` (xy
    folded) says official texts write it so: 'Book-keeper' -> 'Bookkeeper', 'Co-ordinator'
    -> 'Coordinator', 'Pre-Press' -> 'Prepress'. Otherwise the hyphen parts two words ('book
    keeper', 'co ordinator'), and a word like 'ordinator' is in no official text at all.
    Like the normalisers, it reads at most MAX_TEXT_CHARS (bounded time on any input)."""
    text = text[:MAX_TEXT_CHARS]
    if not any(h in text for h in _HYPHENS):
        return text

    def join(m: re.Match) -> str:
        left = fold(m[1])
        return m[1] + m[2] if left not in KEEP_HYPHEN_AFTER and joins(left + fold(m[2])) else m[0]

    return _HYPHENATED.sub(join, text)


def words_written_apart(texts: Iterable[str], key: Callable[[str], str]) -> frozenset[str]:
    """Words (as ``key`` reads them) that ``texts`` write as two words ('X-Y' or 'X Y') at least
    as often as as one: NOC writes 'make-up' and 'co-op' more often than 'makeup' and 'coop'
    (chicken coops), and 'hydro-electric' more often than 'hydroelectric'. ``join_hyphenated``
    leaves those apart; a word that the texts never write apart ('bookkeeper') is joined."""
    one: Counter[str] = Counter()
    apart: Counter[str] = Counter()
    for text in texts:
        folded = fold(text)
        one.update(_LETTERS.findall(folded))
        apart.update(m[1] + m[2] for m in _ADJACENT.finditer(folded))
    one_read: Counter[str] = Counter()
    for word, n in one.items():
        one_read[key(word)] += n
    # Only words also written as one can be joined at all; a cheap filter first, as most
    # adjacent pairs are no word (and reading each would flood the normaliser's cache).
    one_forms = {singular(w) for w in one}
    apart_read: Counter[str] = Counter()
    for word, n in apart.items():
        if singular(word) in one_forms and (read := key(word)) in one_read:
            apart_read[read] += n
    return frozenset(w for w, n in apart_read.items() if w and n >= one_read[w])


def normalize_text(text: str) -> str:
    """Canonical form of free text (duties): folded, abbreviations expanded (not those that are
    also everyday words, ``TITLE_ONLY_ABBREVIATIONS``), plurals reduced."""
    text = _CAPITAL_IT.sub("information technology", _join_initials(text[:MAX_TEXT_CHARS]))
    tokens = _NON_WORD.sub(" ", fold(text)).split()
    return " ".join(singular(t) for t in _expand(tokens, keep=TITLE_ONLY_ABBREVIATIONS))


#: Irregular past forms (and participles) of verbs that duties use, e.g. a letter's "Led a team",
#: "Taught apprentices", "Oversaw production". Participles used as adjectives read as their verb
#: ('worn parts' -> 'wear part'), which keeps the meaning. Left out on purpose: forms that are
#: another word in NOC's duties ('ground' faults, 'wound' care, a 'saw', 'felt', 'left', 'found').
#: Entries whose base NOC's main duties lack change nothing. A base that is a stop word ('keep',
#: 'take') is read too, and then dropped like the present tense.
IRREGULAR_PAST = {
    "arose": "arise", "bent": "bend", "bought": "buy", "brought": "bring", "built": "build",
    "caught": "catch", "chose": "choose", "chosen": "choose", "dealt": "deal", "drew": "draw",
    "drawn": "draw", "drove": "drive", "driven": "drive", "dug": "dig", "fed": "feed",
    "flew": "fly", "flown": "fly", "fought": "fight", "froze": "freeze", "frozen": "freeze",
    "gave": "give", "given": "give", "grew": "grow", "grown": "grow", "heard": "hear",
    "held": "hold", "hung": "hang", "kept": "keep", "knew": "know", "laid": "lay",
    "led": "lead", "lent": "lend", "made": "make", "met": "meet", "oversaw": "oversee",
    "overseen": "oversee", "paid": "pay", "ran": "run", "rebuilt": "rebuild", "rewrote": "rewrite",
    "rode": "ride", "ridden": "ride", "sent": "send",
    "sewn": "sew", "shook": "shake", "shown": "show", "sold": "sell",
    "sought": "seek", "spent": "spend", "spoke": "speak", "spoken": "speak", "stood": "stand",
    "struck": "strike", "swept": "sweep", "taught": "teach", "taken": "take", "took": "take",
    "threw": "throw", "thrown": "throw", "told": "tell", "understood": "understand",
    "undertook": "undertake", "undertaken": "undertake", "upheld": "uphold", "withheld": "withhold",
    "wore": "wear", "worn": "wear", "wove": "weave", "woven": "weave", "wrote": "write",
    "written": "write",
}  # fmt: skip


def base_form(word: str, known: Container[str], *, participles: bool = True, irregular: bool = True) -> str:
    """The word without a verb inflection, when that base form is a ``known`` word: with the words
    of NOC's main duties (present tense), 'administered' -> 'administer', 'prepared' -> 'prepare',
    'planned' -> 'plan', 'applied' -> 'apply', and irregular ones ('led' -> 'lead', 'taught' ->
    'teach'; ``IRREGULAR_PAST``). Reference letters tell duties in the past tense.
    Unknown bases leave the word as it is ('speeding' is not 'spee'), and only inflections go
    ('management' stays apart from 'manage'). Short words are left alone ('seed' is not 'see').
    ``participles=False`` keeps -ing words ('processing', 'nursing' are often nouns)."""
    if irregular and word in IRREGULAR_PAST:
        return IRREGULAR_PAST[word] if IRREGULAR_PAST[word] in known else word
    if len(word) <= 4:
        return word
    if word.endswith("ied"):
        bases = [word[:-3] + "y"]
    elif word.endswith("ed") or (participles and word.endswith("ing")):
        stem = word[:-2] if word.endswith("ed") else word[:-3]
        # 'e' first: 'cared' is 'care', not 'car'; then 'developed' -> 'develop', 'planned' -> 'plan'
        bases = [stem + "e", stem, *([stem[:-1]] if len(stem) >= 3 and stem[-1] == stem[-2] else [])]
    else:
        return word
    return next((b for b in bases if len(b) >= 3 and b in known), word)
