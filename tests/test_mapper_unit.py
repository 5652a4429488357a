"""Mapper building blocks on small inputs: normaliser, TF-IDF parity, calibration error, gate."""

from __future__ import annotations

import json
import pickle
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest

from mapper.calibrate import expected_calibration_error
from mapper.evaluate import gains_and_losses, read_labelled, sign_test_p
from mapper.normalize import MAX_TEXT_CHARS, normalize_text, normalize_title, split_duties, split_roles
from mapper.vectorize import Tfidf
from nocfit import mapper_ops
from warehouse import schema


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SR. SOFTWARE DEV", "senior software developer"),
        ("Asst. Mgr, Retail", "retail assistant manager"),
        ("Director of Research", "research director"),
        ("Data Scientist II", "data scientist"),
        ("Machine Learning Scientist (12 month term)", "machine learning scientist"),
        ("Registered Nurses", "registered nurse"),
        ("Secretaries", "secretary"),
        ("Analyste de données", "analyste de donnee"),
        ("Parts Clerk", "part clerk"),
        ("Full-time cook", "cook"),
        ("Welder (contract)", "welder"),
        ("Cook - 6 months contract", "cook"),
        ("Contract Manager", "contract manager"),  # an official title, not a bare "manager"
        ("R&D chemist", "research and development chemist"),
        ("HR Generalist", "human resource generalist"),
        ("Business Analyst", "business analyst"),  # 'business' keeps its s
        ("&ndash; Welder &amp; fitter", "welder fitter"),
        # Dotted initials read as the acronym: the dots used to split them into lost letters.
        ("V.P. of Sales", "sales vice president"),
        ("I.T. Manager", "information technology manager"),
        ("Mgr. of H.R.", "human resource manager"),
        ("R.N", "registered nurse"),  # split_roles strips the last dot
        ("Ph.D. student", "ph d student"),  # not initials
        ("Sr Mgrs", "senior manager"),  # plural abbreviations
        ("Asst Engs", "assistant engineer"),
        # A grade noun goes only before a numeral; official titles use it otherwise.
        ("Clerk Grade 3", "clerk"),
        ("Clerk, Level II", "clerk"),
        ("Grade school teacher", "grade school teacher"),
        ("&lt;b&gt;Manager&lt;/b&gt;", "manager"),  # an escaped tag is a tag
        ("Admin Assistant", "administrative assistant"),
        ("Legal Admin", "legal administrative"),  # see TitleIndex.read for 'Network Admin'
        ("Co-op Placement Officer", "coop placement officer"),  # 'op' is no operator here
        ("Co-ops Coordinator", "coop coordinator"),
        ("Machine Op", "machine operator"),
        # Licence classes beside 'driver' are what they license, as NOC names it, unless the
        # title names the vehicle ...
        ("AZ Driver", "tractor trailer truck driver"),
        ("Class 1 Driver", "tractor trailer truck driver"),
        ("Driver (AZ)", "tractor trailer truck driver"),
        ("Class 2 Driver", "bus driver"),
        ("DZ Truck Driver", "truck driver"),
        ("Class 1 Bus Driver", "bus driver"),
        ("Bus Driver - Class 2", "bus driver"),
        ("Delivery Driver (Class 1)", "delivery driver class"),  # after 'driver': the whole title only
        ("AZ Driver Trainer", "az driver trainer"),  # a trainer: 'driver' must end a role
        ("Class 1 Driver (AZ)", "tractor trailer truck driver az"),
        # ... and only there: water treatment operators and welders have classes too, a
        # delivery driver may need a class 1, 'a' is an article
        ("Class 1 Water Treatment Operator", "class water treatment operator"),
        ("Class A Welder / Driver", "class a welder driver"),
        ("Class 1 Delivery Driver", "class delivery driver"),
        ("A Driver", "a driver"),
        ("Arizona Sales Rep - AZ", "arizona sales representative az"),
        ("Delivery Driver - Phoenix, AZ", "delivery driver phoenix az"),
        ("4th Class Power Engineer", "fourth class power engineer"),  # NOC writes the ordinal
        ("2nd Year Apprentice Electrician", "apprentice electrician"),  # a year of training
    ],
)
def test_normalize_title(raw: str, expected: str) -> None:
    assert normalize_title(raw) == expected


def test_split_roles_and_duties() -> None:
    assert split_roles("SR. SOFTWARE DEV / TEAM LEAD") == ["SR. SOFTWARE DEV", "TEAM LEAD"]
    assert split_roles("Data Engineer &ndash; TD Asset Management") == [
        "Data Engineer",
        "TD Asset Management",
    ]
    assert split_roles("Cook") == ["Cook"]
    assert split_roles("  ") == []
    lines = split_duties("Assess patients. Administer medication;\n• Chart care\n- Educate families\nok")
    assert lines == ["Assess patients", "Administer medication", "Chart care", "Educate families"]
    assert split_duties("Cook\nClean\n-\n1.\nN/A\nServe food") == ["Cook", "Clean", "Serve food"]
    assert split_roles("<b>Mgr</b>") == ["Mgr"]


def test_subheadings_among_main_duties_are_not_duties() -> None:
    from mapper.corpus import without_subheadings

    titles = [("14103", "court clerk", "index")] + [
        (f"9{i:04d}", f"x{i} operator", "index") for i in range(12)
    ]
    duties = [
        ("14103", "Court clerks"),  # a title of its own unit group
        ("14103", "Prepare court files, court dockets and other documents"),
        ("92101", "Water treatment plant operators"),  # ends in the plural of a title word
        ("92101", "Monitor the readings on the control panel of the plant"),
        ("92102", "Monitor the flow of liquid waste through the plant and its tanks"),
        ("92101", "Monitor operators"),  # starts with a verb that starts longer duties
        ("92101", "Adjust operators."),  # a sentence
    ]
    assert without_subheadings(duties, titles) == [duties[1], *duties[3:]]


def test_french_gender_pairs_are_read_as_two_titles() -> None:
    from mapper.corpus import french_gender_forms

    assert french_gender_forms("Chauffeur/chauffeuse de camion") == [
        "Chauffeur de camion",
        "Chauffeuse de camion",
    ]
    assert french_gender_forms("Conseiller municipal/conseillère municipale") == [
        "Conseiller municipal",
        "Conseillère municipale",
    ]
    assert french_gender_forms("Député/députée à l'Assemblée législative") == [
        "Député à l'Assemblée législative",
        "Députée à l'Assemblée législative",
    ]
    # The pair ends the title, or the slash joins two titles.
    assert french_gender_forms("Technologue en santé animale autorisé/autorisée")[1] == (
        "Technologue en santé animale autorisée"
    )
    assert french_gender_forms("Chanteur d'opéra/cantatrice") == ["Chanteur d'opéra", "Cantatrice"]
    assert french_gender_forms("Cook") == french_gender_forms("a/b/c") == french_gender_forms("/x") == []


def test_title_index_leaves_out_french_function_words_and_reads_compounds() -> None:
    from mapper.index import TitleIndex

    codes = ["73300", "85100", "85101"]
    pairs = [
        ("73300", "Chauffeur/chauffeuse de camion"),
        ("73300", "truck driver"),
        ("85100", "ranch hand"),
        ("85101", "farm hand"),
        ("85100", "ranchman"),
    ]
    titles = TitleIndex.build(pairs, codes)
    # 'de' would make every French query touch every French title, for almost no similarity.
    assert "de" not in titles.vectorizer.vocabulary and "chauffeur chauffeuse" in titles.vectorizer.vocabulary
    ours = titles.vectorizer.transform(["chauffeur de camion"]).toarray()
    assert np.allclose(ours, titles.vectorizer.transform(["chauffeur camion"]).toarray())
    assert titles.word_coverage("chauffeur de camion", [0]) == [pytest.approx(1.0)]  # 'de' weighs nothing
    # Two title words written as one are read apart before any respelling ('ranchman').
    assert titles.respell("ranchhand") == "ranch hand" and titles.respell("farmhand") == "farm hand"
    assert titles.respell("de") == "de"


def test_normaliser_is_bounded_on_huge_and_hostile_input() -> None:
    hostile = ("\x00\u202e\ufeff ünïcödé 🚀 " * 200_000) + "nurse"
    started = time.perf_counter()
    assert isinstance(normalize_title(hostile), str)
    assert isinstance(normalize_text(hostile), str)
    assert len(split_duties(hostile)) <= 40
    assert time.perf_counter() - started < 2.0


def test_folding_ascii_text_drops_what_the_unicode_reading_drops() -> None:
    """ASCII text skips the per-character Unicode reading; it must come out the same."""
    import unicodedata

    from mapper.normalize import fold

    def by_character(text: str) -> str:
        text = unicodedata.normalize("NFKD", text)
        return "".join(c for c in text if not unicodedata.combining(c) and (c.isprintable() or c.isspace()))

    every_ascii = "".join(c for c in map(chr, range(128)) if c not in "<>&")  # (tags: both paths)
    assert fold(f"a{every_ascii}b") == by_character(f"a{every_ascii}b").lower()
    assert fold("A\x07B\tC\x7f") == "ab\tc"
    assert fold("Électricienne\u0301\x07") == "electricienne"  # non-ASCII: the same rule


def test_light_tfidf_matches_scikit_learn() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [
        "senior software developer",
        "nurse  aide, orderly",
        "x",
        "",
        "data-scientist II",
        "Ünïcode café",
    ]
    for options in (
        {"analyzer": "char_wb", "ngram_range": (3, 5)},
        {"analyzer": "word", "ngram_range": (1, 2), "token_pattern": r"(?u)\b\w+\b"},
        {"analyzer": "word", "ngram_range": (1, 2), "stop_words": "english"},
    ):
        reference = TfidfVectorizer(sublinear_tf=True, dtype=np.float32, **options).fit(texts)
        mine = Tfidf.fit(texts, **options)
        np.testing.assert_allclose(
            mine.transform(texts).toarray(), reference.transform(texts).toarray(), atol=1e-6
        )


def test_known_words_include_typos_and_look_up_a_bounded_number(monkeypatch) -> None:
    from rapidfuzz import process

    from mapper import vectorize

    words = Tfidf.fit(["registered nurse", "licensed practical nurse", "welder fitter", "welder"])
    assert words.knows_a_word_of("NURSE") and words.knows_a_word_of("registerd nurce")
    assert not words.knows_a_word_of("asdfgh qwerty 123456")
    looked_up = []
    real = process.extractOne
    monkeypatch.setattr(process, "extractOne", lambda w, *a, **k: looked_up.append(w) or real(w, *a, **k))
    gibberish = " ".join(f"zq{n:05d}x" for n in range(5_000))
    assert not words.knows_a_word_of(gibberish)
    assert len(looked_up) == vectorize._MAX_TYPO_LOOKUPS


def test_words_no_official_text_uses_are_respelt_to_official_title_words(monkeypatch) -> None:
    from rapidfuzz import process

    from mapper import index as index_module
    from mapper.index import TitleIndex

    codes = ["31301", "72106", "72310"]
    pairs = [
        ("31301", "registered nurse"),
        ("31301", "nurse"),
        ("72106", "welder"),
        ("72310", "carpenter"),
        ("72310", "carpenter helper"),
        ("72310", "carpentry foreman"),
        ("72310", "immigration officer"),
    ]
    titles = TitleIndex.build(pairs, codes, ["Weld pipes. Care for plants in a nursery."])
    assert titles.respell("registerd nrse") == "registered nurse"
    assert titles.respell("registered nrse") == "registered nurse"  # one typo among official words
    assert titles.respell("carpentr") == "carpenter"  # carpentry is as close, carpenter commoner
    # A word of the other official texts is a real word, never respelt, though close to "nurse".
    assert titles.respell("nursery weldr") == "nursery welder"
    assert TitleIndex.build(pairs, codes).respell("nursery weldr") == "nurse welder"
    # Another word with a prefix is not a typo (ratio 90, but the first letters differ).
    assert titles.respell("migration welder") == "migration welder"
    assert titles.respell("imigration oficer") == "immigration officer"
    assert titles.respell("asdfgh qwerty") == "asdfgh qwerty"  # nothing close: unchanged
    assert titles.respell("nrs") == "nrs"  # too short to guess
    assert titles.respell("") == ""
    looked_up = []
    real = process.extract
    monkeypatch.setattr(process, "extract", lambda w, *a, **k: looked_up.append(w) or real(w, *a, **k))
    letters = "abcdefghijklmnopqrstuvwxyz"
    titles.respell(" ".join(f"zqx{a}{b}{c}" for a in letters for b in letters for c in letters))
    assert len(looked_up) == index_module.RESPELL_MAX_WORDS
    # Derived word list and respelling cache are never stored with the model.
    assert {"_spelling_list", "_respelt"} <= set(titles.__dict__)
    assert not {"_spelling_list", "_respelt"} & set(titles.__getstate__())
    looked_up.clear()
    assert titles.respell("registerd nrse") == "registered nurse" and looked_up == []  # cached
    titles.clear_cache()
    assert titles.respell("registerd nrse") == "registered nurse" and len(looked_up) == 2


def test_respelling_reads_english_title_words_only_and_leaves_common_words_and_us_spellings() -> None:
    from mapper.english import EnglishWords
    from mapper.index import TitleIndex
    from mapper.normalize import says_no_title
    from mapper.signals import prepare

    codes = ["21222", "22220", "75110", "42204", "12200"]
    pairs = [
        ("22220", "network system administrator"),
        ("21222", "informatics security analyst"),
        ("75110", "construction labourer"),
        ("75110", "labour helper"),
        ("42204", "nun"),
        ("42204", "nonne"),  # the bilingual index's French titles
        ("12200", "lieux de culte gardien"),
        ("12200", "centre clerk"),
    ]
    english = [t for c, t in pairs if t not in ("nonne", "lieux de culte gardien")]
    common = EnglishWords.from_levels({"linux": 3.5, "none": 5.3, "scrum": 3.2})
    titles = TitleIndex.build(pairs, codes, english_titles=english, english=common)
    # Common English words are real words, not typos; they stay as written.
    assert titles.respell("linux system administrator") == "linux system administrator"
    assert titles.respell("none") == "none"
    # A typo is read as an English title word, never as a French one.
    without_common = TitleIndex.build(pairs, codes, english_titles=english)
    assert without_common.respell("lieuz") == "lieuz"  # 'lieux' is in French titles only
    assert (
        without_common.respell("gardien de lieuz") == "gardien de lieux"
    )  # ... which a French title may use
    assert TitleIndex.build(pairs, codes).respell("lieuz") == "lieux"  # as older models read it
    assert without_common.respell("class d lieuz") == "class d lieuz"  # 'd' alone is no French word
    assert titles.respell("netwrk system administrater") == "network system administrator"
    # American spellings are read as NOC's Canadian ones, common word or not.
    assert titles.respell("construction laborer") == "construction labourer"
    assert titles.respell("labor helper") == "labour helper"
    assert titles.respell("center clerk") == "centre clerk"
    # ... only where American spellings differ: 'forth' is not 'fourth', 'boer' not 'bore'.
    # (The American-spelling reading comes before the common-word guard: it must not fire here.)
    more = [*pairs, ("12200", "fourth class engineer"), ("12200", "bore miner")]
    places = TitleIndex.build(more, codes, english=EnglishWords.from_levels({"forth": 3.8, "boer": 3.1}))
    assert places.respell("back and forth driver") == "back and forth driver"
    assert places.respell("boer") == "boer"
    # Placeholders and seniority alone say there is no title: the duties decide alone.
    assert all(says_no_title(t) for t in ("none", "n a", "unknown", "senior", "junior senior"))
    assert not any(says_no_title(t) for t in ("", "senior nurse", "nun"))
    # ... and so do statuses that are no occupation
    statuses = ("Volunteer", "Co-op Student", "Summer Student", "Full-time Student", "Stay-at-home Parent")
    assert all(says_no_title(normalize_title(t)) for t in statuses)
    occupations = ("Volunteer Coordinator", "Graduate Student", "Student Monitor", "Intern", "Homemaker")
    occupations += (
        "Law Student",
        "Articling Law Student",
        "Co-op Placement Officer",
        "Summer Camp Counsellor",
    )
    assert not any(says_no_title(normalize_title(t)) for t in occupations)
    barista = prepare("Student / Barista", "", titles)
    assert (barista.title_norm, barista.roles) == ("barista", [])  # one role: the barista
    for no_title in ("Student / N/A", "N/A / Volunteer", "Co-op / Sr."):
        assert prepare(no_title, "", titles).title_norm == "", no_title
    # ... and so does a placeholder in or out of brackets; a status in brackets may say whom the
    # job serves, and stays
    for no_title in ("Volunteer (N/A)", "N/A (student)", "Student (N/A)", "(N/A)"):
        assert prepare(no_title, "", titles).title_norm == "", no_title
    assert prepare("N/A (Driver)", "", titles).title_norm == "driver"
    assert (
        prepare("Adviser (International Students)", "", titles).title_norm == "adviser international student"
    )
    assert prepare("Retired (formerly nurse)", "", titles).title_norm == "retired formerly nurse"
    # A co-op or summer student of a field is no title; with a job's role word, or students
    # served, the title stays
    jobs = TitleIndex.build([("65100", t) for t in ("cashier", "head cashier", "store cashier")], ["65100"])
    work_terms = ("Co-op Engineering Student", "Engineering Co-op Student", "Summer Accounting Student")
    for no_title in (*work_terms, "Engineering Student (Co-op)"):
        assert prepare(no_title, "", jobs).title_norm == "", no_title
    for job in ("Cashier - Summer Student", "Cashier (Co-op Student)", "Mentor (Co-op Students)"):
        assert prepare(job, "", jobs).title_norm, job
    assert prepare("Co-op Engineering Student / Cashier", "", jobs).title_norm == "cashier"
    # after a dash a status word qualifies the title; so does seniority
    assert (
        prepare("Adviser - International Students", "", titles).title_norm == "adviser international student"
    )
    assert prepare("Analyst - Senior", "", titles).title_norm == "analyst senior"
    assert prepare("N/A", "Clean rooms", titles).title_norm == ""
    assert prepare("Sr.", "", titles).title_norm == ""
    assert prepare("Sr. Nun", "", titles).title_norm == "senior nun"


def test_a_rare_real_word_is_respelt_only_into_a_much_commoner_title_word() -> None:
    import pickle

    from mapper.english import EnglishWords
    from mapper.index import TitleIndex

    codes = ["55109", "65201", "73402", "21231", "72021", "72310"]
    pairs = [
        ("55109", "busker"),
        ("65201", "bus boy"),
        ("73402", "plumber"),
        ("21231", "programmer"),
        ("72021", "construction foreman"),
        ("72310", "finish joiner"),
        ("72310", "fertilizer"),
    ]
    # Zipf levels as wordfreq gives them
    levels = {"busser": 1.65, "busker": 2.24, "plumer": 1.93, "plumber": 3.36, "programer": 1.40}
    levels |= {"programmer": 3.56, "forman": 2.95, "foreman": 3.58, "joyner": 2.68, "joiner": 2.72}
    levels |= {"fertiliser": 2.2, "fertilizer": 2.9}
    english = EnglishWords.from_levels(levels)
    titles = TitleIndex.build(pairs, codes, english=english)
    # 'busser' is a word of its own, about as common as 'busker': read as written.
    assert titles.respell("busser") == "busser"
    # A slip that writes a rare word is still read as the much commoner title word ...
    assert titles.respell("plumer") == "plumber"
    assert titles.respell("senior programer") == "senior programmer"
    # ... and so is a word English does not write at all ...
    assert titles.respell("buskr") == "busker"
    # ... and a rare word that is another spelling of a title word (vowels and doubled letters
    # aside, the same letters): surnames such as 'Forman' and 'Joyner' are typos in a title.
    assert titles.respell("construction forman") == "construction foreman"  # 2.95: not common
    assert titles.respell("finish joyner") == "finish joiner"
    assert titles.respell("fertiliser") == "fertilizer"  # 'z' and 's' sound alike
    # Models saved before ``english`` read every rare word as a typo, as they were trained.
    older = TitleIndex.build(pairs, codes)
    assert older.english is None and older.respell("busser") == "busker"
    older.common_words = frozenset({"busser"})  # as such models were saved: their common words
    older.clear_cache()
    assert older.respell("busser") == "busser" and older.respell("plumer") == "plumber"
    # The table is stored compactly: one string and one byte a word, looked up on first use.
    assert english.zipf("busser") == 1.6 and english.zipf("nosuchword") == 0.0
    assert len(english) == 12
    assert "_table" in english.__dict__ and "_table" not in pickle.loads(pickle.dumps(english)).__dict__
    assert pickle.loads(pickle.dumps(english)).zipf("plumber") == 3.3  # tenths, rounded down
    assert EnglishWords.from_levels({}).zipf("anything") == 0.0


def test_a_misspelling_is_read_as_the_title_word_fewest_slips_away() -> None:
    from mapper.index import TitleIndex

    codes = ["00012", "21203", "22213", "62200", "72200", "72300", "94200", "95100"]
    pairs = [("00012", "chief executive officer"), ("00012", "chief financial officer")]
    pairs += [("62200", "chef"), ("72300", "plumber"), ("72200", "electrician"), ("94200", "electrical")]
    pairs += [("21203", "land surveyor"), ("22213", "survey technician"), ("22213", "survey technologist")]
    pairs += [("95100", "stager"), ("94200", "stamper")]
    titles = TitleIndex.build(pairs, codes)
    # 'cheif' is one swap from 'chief' and one added letter from 'chef': as near, and 'chief'
    # the longer; RapidFuzz's ratio counted the swap as two edits and read 'chef'.
    assert titles.respell("cheif executive officer") == "chief executive officer"
    assert titles.respell("cheif") == "chief"
    assert titles.respell("electrican") == "electrician"  # a letter dropped, not a wrong one
    # One letter added (1 slip) before one wrong letter (2), though the wrong-letter reading is
    # the longer word; counting every edit as one ('stager' and 'stamper' 1 each) read 'stamper'.
    assert titles.respell("stamger") == "stager"
    # As near 'surveyor' (a wrong letter: 2) as 'survey' (two added: 2): the longer, though
    # 'survey' is in more titles.
    assert titles.respell("land surveyer") == "land surveyor"


def test_short_words_swaps_far_rarer_words_and_word_pairs_in_respelling() -> None:
    from mapper.english import EnglishWords
    from mapper.index import TitleIndex

    codes = ["00012", "10019", "21211", "62200", "63101", "72203", "94100", "72302"]
    pairs = [("21211", "data scientist"), ("21211", "data analyst")]
    pairs += [("63101", "real estate agent"), ("63101", "real estate broker"), ("72203", "relay technician")]
    pairs += [("62200", "chef"), ("62200", "sous chef"), ("62200", "chief cook")]
    pairs += [("00012", "chief executive officer"), ("00012", "chief financial officer")]
    pairs += [
        ("10019", f"{field} manager") for field in "office sales store bank fleet plant shop club".split()
    ]
    pairs += [("10019", f"{field} manager") for field in "farm hotel mine port crew unit site desk".split()]
    pairs += [("10019", f"{field} manager") for field in "event gym ward fund".split()]
    pairs += [("62200", "garde manger chef")]
    pairs += [("94100", "billet cutter"), ("94100", "billet heater"), ("72302", "boiler operator")]
    pairs += [("72302", "hose fitter"), ("72302", "house painter"), ("72302", "house framer")]
    pairs += [("72302", "bar attendant"), ("72302", "bar attendant - hotel")]
    pairs += [("72302", f"bar worker {n}") for n in range(28)]
    pairs += [("72302", "bog manager"), ("10019", "bog manager")]
    pairs += [("00012", "office manager"), ("00012", "store manager")]  # pairs of two titles each
    levels = {"biller": 2.1, "billet": 2.7, "boiler": 3.7, "manages": 4.0, "barn": 4.2, "blog": 4.6}
    english = EnglishWords.from_levels(levels)
    titles = TitleIndex.build(pairs, codes, english=english)
    # A four-letter word with two letters swapped (RapidFuzz ratio 75) is read too; one with a
    # wrong letter is not: too many acronyms are one wrong letter from a title word.
    assert titles.respell("daat scientist") == "data scientist"
    assert titles.respell("daxa analyst") == "daxa analyst"
    # Of words as near, the one with the very letters written: 'rela' is 'real' (two letters
    # swapped) before 'relay' (one dropped), though 'relay' is the longer.
    assert titles.respell("rela") == "real"
    # ... unless it is in far fewer titles: 'mnager' is a 'manager' (20 titles), not a 'manger'
    # (one), though 'manger' has the very letters; but 'garde manger' is an official pair.
    assert titles.respell("mnager") == "manager"
    assert titles.respell("garde mnager") == "garde manger"
    # Of words as near, one that an official title pairs with a neighbour: 'chief' and 'chef'
    # are each one slip from 'cheif', and official titles write 'sous chef', 'chief cook'.
    assert titles.respell("cheif") == "chief"  # alone: the longer
    assert titles.respell("sous cheif") == "sous chef"
    assert titles.respell("cheif cook") == "chief cook"
    assert titles.respell("suos cheif") == "sous chef"  # the neighbour respelt first
    # A rare real word whose nearest title word is not much commoner stays as written, though a
    # word as near ('boiler') would be: the nearest decides.
    assert titles.respell("biller") == "biller"
    # A slip that writes another title word is read by the neighbours: official titles pair
    # 'office' with 'manager' and never with 'manger', which is in twenty times fewer titles.
    assert titles.respell("office manger") == "office manager"
    assert titles.respell("store manger") == "store manager"
    assert titles.respell("garde manger chef") == "garde manger chef"  # as official titles pair it
    assert titles.respell("manger") == "manger"  # no neighbour to judge by
    assert titles.respell("sous manger") == "sous manger"  # no 'sous manager' either
    assert titles.respell("hose painter") == "hose painter"  # 'house' is in two titles, not ten
    assert titles.respell("office manages") == "office manages"  # two slips: another word
    # A word of no title counts as one of one title: 'bog' (one title) is no commoner than 'blog'.
    assert titles.respell("blog manager") == "blog manager"
    # 'barn' adds a last letter to 'bar' (in thirty titles, and official titles write 'bar
    # attendant'): a word of its own, not a slip.
    assert titles.respell("barn attendant") == "barn attendant"
    # A pair of one official title is too thin to overrule a real word ('farm manager' is one).
    assert titles.respell("farm manger") == "farm manger"


def test_a_title_is_found_exactly_without_its_bracketed_acronym() -> None:
    from mapper.index import TitleIndex

    codes = ["31102", "32200", "11100"]
    pairs = [
        ("31102", "content writer (technical)"),  # a bracketed word that narrows the title stays
        ("31102", "doctor of medicine (MD)"),
        ("32200", "doctor of traditional Chinese medicine"),
        ("11100", "chartered accountant (CA)"),
        ("32200", "accountant"),
        ("11100", "accountant (CPA)"),  # 'accountant' is another title as written: not taken over
    ]
    titles = TitleIndex.build(pairs, codes)
    assert titles.exact["doctor of medicine"] == (0,)
    assert titles.exact["doctor of medicine physician"] == (0,)  # as written ('MD' read as physician)
    assert titles.exact["accountant"] == (1,)
    assert titles.exact["chartered accountant"] == (2,)  # the acronym of the words before: dropped anyway
    assert "content writer" not in titles.exact


def test_abbreviations_are_read_as_official_titles_read_them() -> None:
    from mapper.index import TitleIndex
    from mapper.normalize import MAX_READINGS, abbreviation_readings

    assert abbreviation_readings("Payroll Clerk") == [()]
    assert abbreviation_readings("Sr. Eng Mgr") == [(("eng", "engineer"),), (("eng", "engineering"),)]
    assert normalize_title("Eng Mgr", (("eng", "engineering"),)) == "engineering manager"
    assert len(abbreviation_readings("admin tech acct sys prod dev")) == MAX_READINGS  # bounded
    codes = ["22220", "20010", "11202", "72603", "13110", "11100", "13100"]
    pairs = [
        ("22220", "network administrator"),
        ("20010", "engineering manager"),
        ("20010", "civil engineering manager"),
        ("11202", "advertising account executive"),
        ("11202", "media account executive"),
        ("72603", "senior engineer"),
        ("72603", "senior engineer officer"),  # two titles: the pair counts, but for its 'senior'
        ("13110", "administrative assistant"),
        ("11100", "tax accountant"),
        ("13100", "lease administration supervisor"),
    ]
    titles = TitleIndex.build(pairs, codes)
    # an official title: the first reading that makes one ...
    assert titles.read("Network Admin") == ("network administrator", "network administrator")
    assert titles.read("Admin Assistant") == ("administrative assistant",) * 2
    # ... once respelt (the reading as written keeps the typo: a respelling is shown to the user)
    assert titles.read("Netwrk Admin") == ("netwrk administrator", "network administrator")
    # else the word pairs that two official titles use, a seniority word's aside; else the usual one
    assert titles.read("Acct Exec")[1] == "account executive"
    assert titles.read("Sr Eng Mgr")[1] == "senior engineering manager"
    assert titles.read("Acct")[1] == "accountant"
    assert titles.read("Admin Supv")[1] == "administrative supervisor"  # one title's pair is too thin


def test_titles_are_also_written_with_their_official_acronym() -> None:
    from mapper.corpus import acronym_titles
    from mapper.normalize import acronym_form

    assert acronym_form("computer-assisted drafting (CAD) technician") == ("CAD technician", "CAD")
    assert acronym_form("registered nurse (R.N.)") == ("RN", "RN")
    assert acronym_form("content writer (technical)") is None  # no acronym
    assert acronym_form("doctor of medicine (MD)") is None  # not the initials of the words before
    titles = [
        ("22212", "computer-assisted drafting (CAD) technician"),
        ("32201", "registered massage therapist (RMT)"),
        ("32120", "positron emission tomography (PET) technologist"),  # 'PET technologist' is no pet's
        ("99999", "PET technologist"),  # ... and a form that is another group's title is left out
        ("11111", "registered massage therapist"),
    ]
    found = acronym_titles(titles, title_words={"pet", "groomer"})
    assert found == [("22212", "CAD technician"), ("32201", "RMT")]
    assert acronym_titles(titles[2:4], title_words=set()) == []  # another group's title as written


def test_hyphenated_words_are_written_as_official_texts_write_them() -> None:
    from mapper.normalize import join_hyphenated, words_written_apart

    def book(word: str) -> bool:
        return word == "bookkeeper"

    assert join_hyphenated("Book-keeper / Co-op", book) == "Bookkeeper / Co-op"
    assert join_hyphenated("Book\u2011keeper", book) == "Bookkeeper"  # a word processor's hyphen
    assert join_hyphenated("Book-keeper-Receptionist", book) == "Bookkeeper-Receptionist"
    assert join_hyphenated("-Co-ordinated", lambda w: True) == "-Coordinated"  # a bullet
    assert join_hyphenated("children's-wear", lambda w: True) == "children's-wear"  # no 's-wear'
    assert join_hyphenated("Re-cover chairs", lambda w: True) == "Re-cover chairs"  # not 'recover'
    assert join_hyphenated("co-op2", lambda w: True) == "co-op2"
    asked = []  # bounded work on any input: only what the normalisers read is looked at
    joined = join_hyphenated("co-ord " * 1_000_000, lambda w: asked.append(w) or True)
    assert joined.startswith("coord coord") and len(asked) <= MAX_TEXT_CHARS // 7 + 1
    texts = ["Page make-up", "Apply make up", "Chemical makeup", "Bookkeeper", "Hydro-electric", "x"]
    assert words_written_apart(texts, str.lower) == {"makeup"}  # 'bookkeeper' is never apart


def test_indexes_join_hyphenated_words_as_their_texts_write_them() -> None:
    from mapper.index import DutyIndex, TitleIndex
    from mapper.signals import prepare

    codes = ["12200", "41406", "92100"]
    pairs = [
        ("12200", "bookkeeper"),
        ("41406", "program co-ordinator"),
        ("41406", "coordinator"),
        ("41406", "volunteer coordinator"),
        ("92100", "hydro-electric station operator"),
        ("92100", "hydro-electric generating station operator"),
        ("92100", "hydroelectric operator"),
    ]
    titles = TitleIndex.build(pairs, codes)
    assert titles.written_apart == {"hydroelectric"}
    assert titles.join_hyphenated("Book-keeper") == "Bookkeeper"
    assert prepare("BOOK-KEEPERS", "", titles).title_norm == "bookkeeper"
    assert titles.join_hyphenated("Volunteer Co-ordinator") == "Volunteer Coordinator"
    assert titles.join_hyphenated("Program Co-ordinator") == "Program Co-ordinator"  # official as written
    assert titles.join_hyphenated("Hydro-electric plant operator") == "Hydro-electric plant operator"
    assert titles.join_hyphenated("Tele-marketer") == "Tele-marketer"  # no 'telemarketer' here
    duties = DutyIndex.build(
        [
            ("41406", "Co-ordinate volunteers"),  # NOC's own lines are read as queries are
            ("41406", "Coordinate events"),
            ("41406", "Coordinate budgets"),
            ("12200", "Perform page make-up"),
            ("12200", "Apply make-up and chemical makeup"),
        ],
        ["12200", "41406"],
    )
    assert duties.read("Co-ordinated volunteers") == "coordinate volunteer"
    assert "coordinate volunteer" in duties.vectorizer.vocabulary
    assert "ordinate" not in duties.vectorizer.vocabulary
    past = duties.line_similarities(["Co-ordinated volunteers"]).toarray()
    assert np.allclose(past, duties.line_similarities(["Coordinate volunteers"]).toarray())
    assert past[0, 0] == pytest.approx(1.0)
    assert duties.read("Apply make-up") == "apply make up"  # NOC writes it apart more often
    assert duties.read("Co-host events") == "co host event"  # 'cohost' is no word of the duties
    # Models trained before this (unpickled without the field) read hyphens as two words, as
    # they were trained.
    old_duties = pickle.loads(pickle.dumps(duties))
    del old_duties.__dict__["written_apart"]
    old_titles = pickle.loads(pickle.dumps(titles))
    del old_titles.__dict__["written_apart"]
    assert old_duties.read("Co-ordinated volunteers") == "co ordinated volunteer"
    assert old_titles.join_hyphenated("Book-keeper") == "Book-keeper"


def test_duty_verbs_are_read_in_their_base_form() -> None:
    from mapper.index import DutyIndex
    from mapper.normalize import base_form

    known = {"administer", "prepare", "plan", "apply", "care", "car", "develop", "nurse", "see", "manage"}
    known |= {"lead", "teach", "grind"}
    reads = {
        "administered": "administer",
        "prepared": "prepare",
        "preparing": "prepare",
        "planned": "plan",
        "applied": "apply",
        "cared": "care",  # not 'car'
        "developing": "develop",
        "nursing": "nurse",
        "seed": "seed",  # too short to be inflected ('see' is known)
        "management": "management",  # inflections only
        "speeding": "speeding",  # no known base
        "led": "lead",  # irregular, and short
        "taught": "teach",
        "wrote": "wrote",  # 'write' is not known
        "ground": "ground",  # a noun in NOC's duties, not read as 'grind'
    }
    assert {w: base_form(w, known) for w in reads} == reads
    duties = DutyIndex.build(
        [
            ("31301", "Administer medications as prescribed"),
            ("31301", "Assess patients"),
            ("72106", "Weld parts"),
        ],
        ["31301", "72106"],
    )
    past = duties.line_similarities(["Administered medications and assessed patients"]).toarray()
    present = duties.line_similarities(["Administer medications and assess patients"]).toarray()
    assert np.allclose(past, present) and past[0, :2].min() > 0.3 and past[0, 2] == 0
    assert "_base_forms" in duties.__dict__ and "_base_forms" not in duties.__getstate__()
    # A model trained before base forms has no known words: its words are read as they are.
    old = DutyIndex.__new__(DutyIndex)
    old.__setstate__({k: v for k, v in duties.__getstate__().items() if k != "known_words"})
    assert old.line_similarities(["Administered medications"]).toarray()[0, 0] < past[0, 0]


def test_other_signals_read_past_forms_but_keep_ing_words() -> None:
    from mapper.index import DutyIndex
    from mapper.signals import prepare

    duties = DutyIndex.build(
        [("73301", "Drive trucks to transport goods"), ("94140", "Operate food processing machines")],
        ["73301", "94140"],
    )
    assert (
        duties.read("Drove trucks, operated processing machines") == "drive truck operate processing machine"
    )
    assert prepare("", "Drove trucks", duty_index=duties).duty_norm == "drive truck"
    # the line alignment reads -ing words as their base too: its lines are verb phrases
    aligned = duties.line_similarities(["Driving trucks"]).toarray()
    assert np.allclose(aligned, duties.line_similarities(["Drive trucks"]).toarray())
    # A model trained before ``reading`` (version 1): other signals read words as written, and
    # the alignment knows no irregular verbs, as when it was trained.
    old = DutyIndex.__new__(DutyIndex)
    old.__setstate__({k: v for k, v in duties.__getstate__().items() if k != "reading"})
    assert old.reading == 1 and old.read("Drove trucks") == "drove truck"
    assert old.line_similarities(["Drove trucks"]).toarray()[0, 0] < aligned[0, 0]


def test_free_text_keeps_abbreviations_that_are_everyday_words() -> None:
    from mapper.normalize import normalize_text, normalize_title

    # 'assist' is NOC's verb, 'it' a pronoun, 'pm' a time: expanded in titles only
    assert normalize_text("Assist nurses; inspect it; shifts end at 11 pm") == (
        "assist nurse inspect it shift end at 11 pm"
    )
    assert normalize_text("IT support") == "information technology support"
    assert normalize_title("Assist. Manager") == "assistant manager"


def test_expected_calibration_error() -> None:
    assert expected_calibration_error(np.array([0.9, 0.9]), np.array([1, 1])) == pytest.approx(0.1)
    assert expected_calibration_error(np.array([0.5] * 4), np.array([1, 0, 1, 0])) == pytest.approx(0.0)
    assert expected_calibration_error(np.array([0.95, 0.15]), np.array([0, 1])) == pytest.approx(0.9)


def test_read_labelled_names_bad_lines(tmp_path: Path) -> None:
    good = {"id": "a", "title": "Cook", "duties_text": "", "noc2021_code": "63200", "source": "s"}
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps({**good, "noc2021_code": "632"}) + "\n")
    with pytest.raises(ValueError, match="line 3"):
        read_labelled(path)
    path.write_text(json.dumps(good) + "\n")
    assert read_labelled(path)[0].code == "63200"


def _evaluation_db(rows: list[tuple], ranks: dict[str, list] | None = None) -> duckdb.DuckDBPyConnection:
    """An evaluation of run r1: (role, top1, top5) rows, and each role's true ranks per item."""
    con = duckdb.connect()
    schema.apply(con)
    for role, top1, top5 in rows:
        con.execute(
            "INSERT INTO mapper.evaluations (run_id, model_role, dataset, source, top1, top5, evaluated_at) "
            "VALUES ('r1', ?, 'dev', 'all', ?, ?, now())",
            [role, top1, top5],
        )
    for role, role_ranks in (ranks or {}).items():
        for position, rank in enumerate(role_ranks, start=1):
            con.execute(
                "INSERT INTO mapper.evaluation_items (run_id, model_role, position, true_code, true_rank) "
                "VALUES ('r1', ?, ?, '11100', ?)",
                [role, position, rank],
            )
    return con


def test_sign_test() -> None:
    assert sign_test_p(0, 0) == 1.0
    assert sign_test_p(5, 0) == pytest.approx(1 / 32)
    assert sign_test_p(4, 1) == pytest.approx(6 / 32)
    assert sign_test_p(1, 4) == pytest.approx(31 / 32)


def test_items_gained_and_lost_between_two_models() -> None:
    new, old = [True, True, False, False, True], [False, True, True, False, False]
    assert gains_and_losses(new, old) == (2, 1)
    assert gains_and_losses(old, new) == (1, 2)
    with pytest.raises(ValueError):  # the two must score the same items
        gains_and_losses(new, old[:4])


def test_gate_compares_the_models_item_by_item() -> None:
    # Within the tolerance, 4 items lost and 1 gained is retraining noise (p = 0.19): promoted.
    noise = _evaluation_db(
        [("candidate", 0.62, 0.83), ("promoted", 0.635, 0.835)],
        {"candidate": [2, 2, 2, 2, 1, *[1] * 20, None], "promoted": [1, 1, 1, 1, 2, *[1] * 20, None]},
    )
    passed = mapper_ops.gate(noise, "r1")
    assert passed.passed and "top-1 lost 4 items and gained 1 (sign test p=0.188)" in passed.description
    assert passed.metadata["top1_items_lost"] == 4 and passed.metadata["top5_items_lost"] == 0
    # Within the tolerance too, but 6 items lost and none gained is no accident (p = 0.016).
    loss = _evaluation_db(
        [("candidate", 0.63, 0.84), ("promoted", 0.65, 0.84)],
        {"candidate": [None] * 6 + [1] * 20, "promoted": [1] * 26},
    )
    blocked = mapper_ops.gate(loss, "r1")
    assert not blocked.passed
    assert "top-1 lost 6 items and gained 0" in blocked.description
    assert "top-5 lost 6 items and gained 0" in blocked.description


def test_gate_blocks_a_worse_candidate_and_passes_a_first_one() -> None:
    assert mapper_ops.gate(_evaluation_db([("candidate", 0.6, 0.8)]), "r1").passed
    assert mapper_ops.gate(
        _evaluation_db([("candidate", 0.645, 0.84), ("promoted", 0.65, 0.84)]), "r1"
    ).passed
    # Seeds 4 and 3 of one code (0.620 / 0.850 and 0.660 / 0.865): retraining noise, not a loss.
    assert mapper_ops.gate(
        _evaluation_db([("candidate", 0.620, 0.850), ("promoted", 0.660, 0.865)]), "r1"
    ).passed
    worse = mapper_ops.gate(_evaluation_db([("candidate", 0.60, 0.84), ("promoted", 0.65, 0.84)]), "r1")
    assert not worse.passed and "top-1 0.600 < 0.650" in worse.description
    assert not mapper_ops.gate(_evaluation_db([]), "r1").passed


def test_gate_compares_what_both_models_recorded() -> None:
    # An older model's held-out metrics may lack top-5: the gate judges top-1 alone and says so.
    passed = mapper_ops.gate(_evaluation_db([("candidate", 0.66, None), ("promoted", 0.65, 0.8)]), "r1")
    assert passed.passed and "top-5 n/a" in passed.description
    worse = mapper_ops.gate(_evaluation_db([("candidate", 0.55, None), ("promoted", 0.65, None)]), "r1")
    assert not worse.passed and "top-1 0.550 < 0.650" in worse.description


def test_french_text_is_told_by_its_function_words() -> None:
    from mapper.normalize import looks_french

    assert looks_french("Préparer des repas et des plats. Commander les aliments.")
    assert not looks_french("Prepare and cook meals. Order supplies. Clean the kitchen.")
    # A French name in English duties is not French duties; nor are three words.
    assert not looks_french("Cook meals at the Café de Paris restaurant for guests")
    assert not looks_french("de la cuisine")
    assert not looks_french("")
