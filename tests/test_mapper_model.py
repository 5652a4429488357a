"""The mapper trained by the session refresh, on real queries (accuracy floors, not targets:
the targets are measured by benchmarks/mapper_benchmark.py)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import duckdb
import pytest

from mapper.evaluate import LabelledItem, evaluate, miss_kind, read_labelled
from mapper.model import MapperModel, ModelError
from mapper.signals import prepare
from tests.conftest import PROJECT_ROOT


@pytest.fixture(scope="module")
def model(refreshed: dict[str, str]) -> MapperModel:
    return MapperModel.load(Path(refreshed["NOCFIT_MODELS"]) / "current.pkl")


def codes(mapping) -> list[str]:
    return [s.code for s in mapping.suggestions]


def test_clear_titles_map_to_their_unit_group(model: MapperModel) -> None:
    nurse = model.map("Registered Nurse")
    assert codes(nurse)[0] == "31301" and nurse.suggestions[0].confidence > 0.8
    assert model.map("Welder").suggestions[0].method == "exact_title"
    assert codes(model.map("SR. SOFTWARE DEV / TEAM LEAD"))[0] in {"21232", "21231"}
    assert codes(model.map("HEAVY DUTY MECHANIC"))[0] == "72401"
    assert "31301" in codes(model.map("infirmière autorisée"))[:3]  # official French titles


def test_abbreviations_are_read_as_official_titles_read_them(model: MapperModel) -> None:
    """'Eng' is an engineer in 'Software Eng' but engineering in 'Eng Mgr'; each of these was a
    wrong group first before ('Eng Mgr': civil engineers, 'Vet Tech': geological technicians)."""
    for title, code in [
        ("Eng Mgr", "20010"),  # the official 'engineering manager'
        ("Software Eng", "21231"),
        ("Vet Tech", "32104"),  # 'veterinary technician'
        ("Vet", "31103"),
        ("Tech Writer", "51112"),  # 'technical writer'
    ]:
        mapping = model.map(title, evidence=False)
        assert codes(mapping)[0] == code and mapping.suggestions[0].method == "exact_title", title
    # Licence classes and ordinals as official titles write them
    for title, code in [
        ("AZ Driver", "73300"),
        ("Driver (Class 1)", "73300"),
        ("Class 2 Driver", "73301"),
        ("Class 1 Bus Driver", "73301"),  # the vehicle named wins
        ("4th Class Power Engineer", "92100"),
    ]:
        mapping = model.map(title, evidence=False)
        assert codes(mapping)[0] == code and mapping.suggestions[0].method == "exact_title", title
    # a class that is not a driver's stays as it was: "Class A Welder / Driver" is a welder
    assert codes(model.map("Class A Welder / Driver", evidence=False))[0] == "72106"
    assert codes(model.map("Class 1 Delivery Driver", evidence=False))[0] == "75201"
    assert codes(model.map("Delivery Driver (Class 1)", evidence=False))[0] == "75201"
    # no official title either way: the word pairs that official titles use ('account manager')
    assert codes(model.map("Key Acct Mgr", evidence=False))[0] == "60010"


def test_admin_is_an_administrator_only_where_official_titles_say_so(model: MapperModel) -> None:
    network = model.map("Network Admin II")  # the official "network administrator"
    assert codes(network)[0] == "22220" and network.suggestions[0].method == "exact_title"
    assert network.title_read_as is None  # not a guessed spelling
    assert codes(model.map("Payroll Admin"))[0] == "13102"
    assert codes(model.map("Network Admin / Team Lead"))[0] == "22220"  # a role too
    misspelt = model.map("Netwrk Admin")  # respelt, then read as the official title
    assert misspelt.title_read_as == "network administrator" and codes(misspelt)[0] == "22220"
    # No official "legal administrator": the administrative reading stays.
    assert codes(model.map("Legal Admin"))[0] == "13111"


def test_hyphenated_words_are_read_as_noc_writes_them(model: MapperModel) -> None:
    pairs = [
        ("Book-keeper", "Bookkeeper"),  # was storekeepers, as 'book keeper'
        ("Tele-marketer", "Telemarketer"),  # was respelt 'tele marker'
        ("Life-guard", "Lifeguard"),
        ("Program Co-ordinator", "Program Coordinator"),  # 'ordinator' is in no official text
    ]
    for hyphenated, joined in pairs:
        assert codes(model.map(hyphenated, evidence=False)) == codes(model.map(joined, evidence=False))
    assert codes(model.map("Book-keeper"))[0] == "12200"
    assert model.map("Tele-marketer").title_read_as is None
    duties = model.parts.duties
    assert duties.read("Co-ordinated the volunteers") == duties.read("Coordinated the volunteers")
    assert duties.read("Re-cover furniture") == "re cover furniture"  # not 'recover'
    assert duties.read("Apply stage make-up") == "apply stage make up"  # NOC writes it apart
    # An official title written with a hyphen keeps its exact match.
    assert model.map("Hydro-electric generating station operator").suggestions[0].method == "exact_title"


def test_two_title_words_written_as_one_are_read_apart(model: MapperModel) -> None:
    for joined, apart in [("Farmhand", "farm hand"), ("Ranchhand", "ranch hand"), ("Busboy", "bus boy")]:
        mapping = model.map(joined, evidence=False)
        assert mapping.title_read_as == apart  # shown, as any other reading of an unknown word
        assert codes(mapping)[:2] == codes(model.map(apart, evidence=False))[:2]
    # 'ranchhand' was respelt 'ranchman': managers in agriculture (TEER 0) for a ranch labourer.
    assert codes(model.map("Ranchhand"))[0] == "85100"


def test_french_titles_are_found_in_either_form(model: MapperModel) -> None:
    # The bilingual index writes 'Chauffeur/chauffeuse de camion'; people write one form.
    for title in ("Chauffeur de camion", "Chauffeuse de camion"):
        mapping = model.map(title, evidence=False)
        assert codes(mapping)[0] == "73300" and mapping.suggestions[0].method == "exact_title"
    assert codes(model.map("Cuisinier", evidence=False))[0] == "63200"
    assert model.map("Cuisinière", evidence=False).suggestions[0].method == "exact_title"


def test_a_title_misspelt_in_every_word_is_read_as_the_official_words(model: MapperModel) -> None:
    nurse = model.map("REGISTERD NRSE")
    assert codes(nurse)[0] == "31301" and nurse.title_read_as == "registered nurse"
    assert nurse.suggestions[0].method == "fused"  # a guessed spelling is not an exact match
    assert model.map("Registered Nurse").title_read_as is None
    assert all("registered" in m.title.lower() for m in nurse.suggestions[0].evidence.matched_titles)
    assert codes(model.map("acountant"))[0] == "11100"
    assert codes(model.map("wlder"))[0] == "72106"
    # Swaps and four-letter words are read; so is the word an official title pairs with its
    # neighbour ('sous cheif' was 'sous chief'; 'daat' and 'rela' stayed as written).
    for title, read_as, code in [
        ("Sous Cheif", "sous chef", "62200"),
        ("Daat Scientist", "data scientist", "21211"),
        ("Rela Estate Agent", "real estate agent", "63101"),
        ("Retail Store Mnager", "retail store manager", "60020"),
    ]:
        mapping = model.map(title, evidence=False)
        assert (mapping.title_read_as, codes(mapping)[0]) == (read_as, code), title
    # A slip that writes another real word is read by its neighbours ("Project Manger" was food
    # counter attendants, 'manger' being a word of 'garde manger chef'); the words of French
    # titles are left to them ('acide' is no slip of 'aide').
    for title, read_as in [
        ("Project Manger", "project manager"),
        ("Motor Vehicle Sore Clerk", "motor vehicle store clerk"),
        ("Heath and Safety Officer", "health and safety officer"),  # 'health and': two titles' pair
    ]:
        assert model.map(title, evidence=False).title_read_as == read_as
    assert model.map("Garde Manger", evidence=False).title_read_as is None
    assert model.parts.titles.respell("acide machine") == "acide machine"
    # ... and a word that adds a last letter is a word of its own: "Miner A" (a grade) is no
    # 'mine a' (a pair of the French 'mine a ciel ouvert')
    assert model.parts.titles.respell("miner a") == "miner a"
    assert model.parts.titles.respell("ouvrier acide") == "ouvrier acide"


def test_realistic_titles_are_read_as_curated(model: MapperModel) -> None:
    # data/examples/title_readings.tsv (README there): misspelt titles read as the words meant,
    # and correct ones with acronyms, rare words, odd pairs or French words read as written.
    import csv

    path = PROJECT_ROOT / "data" / "examples" / "title_readings.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) == 345
    titles, duties = model.parts.titles, model.parts.duties
    wrong = [
        (row["title"], row["read_as"], read)
        for row in rows
        if (read := prepare(row["title"], "", titles, duties).title_norm) != row["read_as"]
    ]
    assert wrong == []


def test_real_words_are_not_respelt_and_american_spellings_are_read_as_canadian(
    model: MapperModel,
) -> None:
    # Common English words that no official text uses used to be read as typos, often of the
    # French titles' words: 'None' as 'nonne' (religion workers at 85%), 'Linux' as 'lieux'.
    for title in ("Linux System Administrator", "Scrum Master", "Agile Coach", "Interim Director of Finance"):
        assert model.map(title).title_read_as is None, title
    assert codes(model.map("Interim Director of Finance"))[0] == "10010"
    laborer = model.map("Construction Laborer")
    assert laborer.title_read_as == "construction labourer" and codes(laborer)[0] == "75110"
    assert model.map("Guidance Counselor").title_read_as == "guidance counsellor"
    # Rarer real words were read as typos too: "Busser" as 'busker' (other performers at 86%),
    # "Flagger" as 'flanger'. A rare word is now respelt only into a much commoner title word.
    for title in ("Busser", "Flagger", "Biller", "Tasker", "Bellman"):
        assert model.map(title, evidence=False).title_read_as is None, title
    for title in ("Busser", "Flagger", "Biller", "Bellman"):  # no longer a confident wrong answer
        mapping = model.map(title, evidence=False)
        assert not mapping.suggestions or mapping.suggestions[0].confidence < 0.5, title
    assert codes(model.map("Busser / Server Assistant", evidence=False))[0] == "65200"
    plumer = model.map("Plumer", evidence=False)  # a rare word too, but 'plumber' is far commoner
    assert plumer.title_read_as == "plumber" and codes(plumer)[0] == "72300"
    # ... and a rare word spelt like a title word but for vowels and doubled letters is that
    # word: surnames ('Forman', 'Plummer', 'Joyner') and British spellings are read as before.
    for title, read_as in [
        ("Construction Forman", "construction foreman"),
        ("Journeyman Plummer", "journeyman plumber"),
        ("Finish Joyner", "finish joiner"),
        ("Paediatrician", "pediatrician"),
        ("Galvanising Line Operator", "galvanizing line operator"),  # 'z' and 's' sound alike
    ]:
        assert model.map(title, evidence=False).title_read_as == read_as, title
    # Placeholders and bare seniority are no title: no suggestion alone, the duties decide with them.
    for placeholder in ("None", "N/A", "#N/A", "Unknown", "Unemployed", "undefined", "Sr.", "Jr"):
        assert model.map(placeholder).suggestions == [], placeholder
    duties = "Drive a transport truck over long distances. Inspect the truck and its load."
    assert codes(model.map("N/A", duties)) == codes(model.map("", duties))
    assert codes(model.map("N/A", duties))[0] == "73300"
    # So are statuses that are no occupation ("Stay-at-home Parent" was home child care providers
    # at 86%, "Co-op Student" educational counsellors at 86%); none is an official title.
    from mapper.normalize import STATUS_TITLES, says_no_title

    assert not STATUS_TITLES & model.parts.titles.exact.keys()
    assert not [t for t in model.parts.titles.exact if says_no_title(t)]
    for status in ("Volunteer", "Co-op Student", "Stay-at-home Parent", "Retired", "Freelancer"):
        assert model.map(status).suggestions == [], status
    assert codes(model.map("Summer Student", duties)) == codes(model.map("", duties))
    # "Co-op Engineering Student" was co-op officers (41320) at 86%, "Volunteer (N/A)" social
    # and community service workers at 87%
    for status in ("Co-op Engineering Student", "Volunteer (N/A)", "Engineering Student (Co-op)"):
        assert model.map(status).suggestions == [], status
    # ... but a job beside a work term is the job, and students served stay
    for title, code in [
        ("Cashier - Summer Student", "65100"),
        ("Landscaper - Summer Student", "22114"),  # 'landscaper' ends too few titles to be a role word
        ("Co-op Engineering Student / Barista", "65201"),
        ("Software Developer - Co-op Student", "21232"),
        ("Adviser (International Students)", "41320"),
        ("Supervisor - Summer Students", "45100"),
    ]:
        assert codes(model.map(title))[0] == code, title
    # Official acronyms as people write them: in an official title ('registered massage therapist
    # (RMT)', 'electrical discharge machine (EDM) operator') or care acronyms titles write out.
    for acronym, code in (("RMT", "32201"), ("HCA", "33102"), ("CYW", "42201"), ("MLT", "32120")):
        assert codes(model.map(acronym))[0] == code, acronym
    for acronym, code in (("EDM Operator", "94106"), ("CAD Technician", "22212")):  # found exactly
        found = {s.code: s.method for s in model.map(acronym).suggestions[:2]}
        assert found.get(code) == "exact_title", acronym
    assert codes(model.map("Pet Groomer"))[0] == "65220"  # 'PET' (tomography) is not indexed as 'pet'
    # A title is found exactly without its bracketed acronym: 'doctor of medicine (MD)'.
    doctor = model.map("Doctor of Medicine").suggestions[0]
    assert (doctor.code, doctor.method) == ("31102", "exact_title")


def test_duties_decide_when_there_is_no_title(model: MapperModel) -> None:
    duties = (
        "Fly fixed wing aircraft to transport passengers and cargo. Perform pre-flight inspections. "
        "Plan flight routes and communicate with air traffic control."
    )
    assert "72600" in codes(model.map("", duties))[:2]  # pilots (air traffic controllers are close)


def test_duties_outweigh_a_contradicting_title(model: MapperModel) -> None:
    truck = (
        "Drive a tractor-trailer on long-haul routes across provinces. Inspect the truck before trips. "
        "Secure cargo and keep the logbook."
    )
    mapping = model.map("Software Developer", truck)
    assert codes(mapping)[0] == "73300" and mapping.title_duties_disagree


def test_result_shape_and_evidence(model: MapperModel) -> None:
    mapping = model.map("Cook", "Prepare and cook complete meals. Plan menus and order supplies.", top_k=5)
    confs = [s.confidence for s in mapping.suggestions]
    assert len(confs) == 5 and confs == sorted(confs, reverse=True)
    assert 0 < sum(confs) <= 1.0 + 1e-6 and all(0 <= c <= 1 for c in confs)
    top = mapping.suggestions[0]
    assert (top.code, top.teer) == ("63200", 3) and top.title == "Cooks"
    assert top.evidence.matched_titles and top.evidence.matched_titles[0].similarity == 1.0
    aligned = top.evidence.duty_alignment
    assert [a.input_duty for a in aligned] == [
        "Prepare and cook complete meals",
        "Plan menus and order supplies",
    ]
    assert all(a.noc_duty for a in aligned) and 0 < top.evidence.duty_coverage <= 1
    json.dumps(mapping.to_dict())  # JSON-serialisable


def test_flags(model: MapperModel) -> None:
    disagree = model.map(
        "Software Developer",
        "Drive a tractor-trailer on long-haul routes across provinces. Inspect the truck before trips. "
        "Secure cargo and keep the logbook.",
    )
    assert disagree.title_duties_disagree
    assert disagree.title_only_code == "21232" and disagree.duties_only_code == "73300"
    # A reference letter's duties in one paragraph contradict the title as well as lines do...
    paragraph = (
        "His duties included driving tractor-trailers across provinces, inspecting trucks before "
        "trips, loading and unloading cargo and keeping logbooks"
    )
    assert model.map("Software Engineer", paragraph).title_duties_disagree
    # ...but a survey's one-line industry is no duty list to judge the title by.
    assert not model.map("Software Engineer", "Trucking and transportation").title_duties_disagree
    vague = model.map("Associate")
    assert vague.ambiguous and vague.suggestions[0].confidence < 0.5
    # The flag compares the two best codes whatever the number of suggestions asked for.
    assert model.map("Associate", top_k=1).ambiguous and len(model.map("Associate", top_k=1).suggestions) == 1
    with pytest.raises(ValueError, match="top_k"):
        model.map("Associate", top_k=0)


def test_evidence_lists_every_duty_line_and_the_exact_title_first(model: MapperModel) -> None:
    duties = "\n".join(f"Prepare and cook meal number {i} for the guests" for i in range(30))
    aligned = model.map("Cook", duties).suggestions[0].evidence.duty_alignment
    assert len(aligned) == 30  # not cut at 20
    nurse = model.map("Registered nurse").suggestions[0].evidence.matched_titles
    assert nurse[0].title == "Registered nurse (R.N.)"  # of the titles holding both words, the closest


def test_empty_and_garbage_inputs_give_no_suggestion(model: MapperModel) -> None:
    assert model.map("", "").suggestions == []
    assert model.map("!!! ??? ...", " \n\t ").suggestions == []
    results = model.map_batch([("", ""), ("Welder", ""), ("x" * 1_000_000, "y " * 500_000)], evidence=False)
    assert results[0].suggestions == [] and codes(results[1])[0] == "72106"
    assert len(results) == 3


def test_input_without_an_official_word_gets_no_suggestion(model: MapperModel) -> None:
    for junk in ("asdfgh qwerty", "xxxxxxxxxxxx", "123456", "软件工程师"):
        assert model.map(junk).suggestions == [], junk
    # Function words are in official titles ("director of ...") but name no occupation: they
    # used to give "the and of" Paralegals at 36%.
    for empty in ("the and of", "of the", "And", "to be or not to be", "de la"):
        assert model.map(empty, empty).suggestions == [], empty
    assert codes(model.map("Teacher of the year"))  # a content word among them still maps
    assert codes(model.map("IT"))[0].startswith("2")  # read as 'information technology'
    # Misspelt official words are still words: a typo of each word keeps the query alive.
    assert codes(model.map("Sofware devloper"))[0] == "21232"
    assert codes(model.map("wlder"))[0] == "72106"


def test_every_official_title_gets_a_suggestion(model: MapperModel) -> None:
    # Words of a single official title are not in the classifier's vocabulary (min_df=2);
    # these titles used to get no suggestion at all.
    for title, code in (("Senator", "00010"), ("Phlebotomist", "33101"), ("Rabbi", "41302")):
        top = model.map(title, evidence=False).suggestions[0]
        assert (top.code, top.method) == (code, "exact_title"), title
    # Every title passes the gate that decides "no suggestion" (cheap: no signals computed)...
    official = list(model.parts.titles.exact)
    titles, duties = model.parts.titles, model.parts.duties
    assert all(model._has_an_official_word(prepare(t, "", titles, duties)) for t in official)
    # ...and past the gate a title always gets suggestions (every 10th mapped: 11,000 titles).
    assert all(m.suggestions for m in model.map_batch([(t, "") for t in official[::10]], evidence=False))


def test_a_bare_role_word_is_not_mistaken_for_a_sure_answer(model: MapperModel) -> None:
    # Dozens of unit groups are "... manager", "... teacher" or "... clerk": no honest model
    # is sure which one a bare word means.
    for vague in ("Manager", "Teacher", "Clerk", "Engineer", "Analyst"):
        assert model.map(vague).suggestions[0].confidence < 0.5, vague


def test_dev_set_accuracy_floor(model: MapperModel, shared_data: Path) -> None:
    result = evaluate(model, read_labelled(shared_data / "bench" / "noc_dev.jsonl"))
    assert result.items == 200
    assert result.top1 >= 0.60 and result.top5 >= 0.80  # regression floors; targets in benchmarks/
    assert 0.0 <= result.ece <= 0.15


@pytest.mark.parametrize(
    ("title", "duties", "code", "kind"),
    [
        # 'cytologist' is an official title of 21110 only; 32120 has 'cytology technologist'
        ("Cytologist", "", "32120", "official_title_elsewhere"),
        ("Kitchen Runner", "", "65200", "no_word_in_label_titles"),  # 'food runner' is 65201
        ("", "Clean rooms and make beds.", "65310", "no_title"),
        ("Diesel Technician", "", "72410", "other"),  # 'motor vehicle diesel engine mechanic'
        ("Cook", "", "99999", "not_a_unit_group"),
    ],
)
def test_a_miss_is_sorted_by_what_the_official_titles_say(
    model: MapperModel, title: str, duties: str, code: str, kind: str
) -> None:
    assert miss_kind(model, LabelledItem("x", title, duties, code, "test")) == kind


def test_model_carries_provenance(model: MapperModel, refreshed: dict[str, str]) -> None:
    meta = model.metadata
    assert meta["noc_version"] == "NOC 2021 V1.0"
    assert {"scikit-learn", "numpy", "rapidfuzz", "python"} <= set(meta["libraries"])
    assert meta["fingerprint"] and meta["training_seconds"] > 0
    sidecar = json.loads((Path(refreshed["NOCFIT_MODELS"]) / "current.pkl.json").read_text())
    assert sidecar["fingerprint"] == meta["fingerprint"]
    with duckdb.connect(refreshed["NOCFIT_WAREHOUSE"], read_only=True) as con:
        promoted = con.execute("SELECT model_fingerprint FROM mapper.promotions").fetchall()
        evaluated = con.execute(
            "SELECT count(*) FROM mapper.evaluations WHERE model_role = 'candidate' AND source = 'all'"
        ).fetchone()[0]
        # Item by item too: the first candidate had no promoted model to be compared with.
        items = con.execute(
            "SELECT model_role, count(*), count(*) FILTER (true_rank = 1), "
            "count(DISTINCT position), count(*) FILTER (top_code IS NULL) "
            "FROM mapper.evaluation_items GROUP BY ALL"
        ).fetchall()
        top1 = con.execute(
            "SELECT top1 FROM mapper.evaluations WHERE model_role = 'candidate' AND source = 'all'"
        ).fetchone()[0]
    assert promoted == [(meta["fingerprint"],)] and evaluated == 1
    assert items == [("candidate", 200, round(top1 * 200), 200, 0)]


@pytest.mark.parametrize(
    "title, past, present",
    [
        (
            "nurse",
            "Assessed patients and administered medications.",
            "Assess patients and administer medications.",
        ),
        # irregular verbs (normalize.IRREGULAR_PAST)
        (
            "software developer",
            "Wrote documentation for new software.",
            "Write documentation for new software.",
        ),
        ("college instructor", "Taught students in shop sessions.", "Teach students in shop sessions."),
        ("bus driver", "Drove buses to transport passengers.", "Drive buses to transport passengers."),
    ],
)
def test_duties_in_the_past_tense_align_like_the_present(
    model: MapperModel, title: str, past: str, present: str
) -> None:
    # Reference letters tell duties in the past tense; NOC's main duties are in the present.
    def first_line(duties: str):
        return model.map(title, duties).suggestions[0].evidence.duty_alignment[0]

    was, now = first_line(past), first_line(present)
    assert was.noc_duty == now.noc_duty and was.similarity == now.similarity > 0.25


def test_past_tense_duties_are_mapped_like_the_present(model: MapperModel) -> None:
    # Every duty signal (classifier, code documents, alignment) reads past forms as their base:
    # before, the past tense put 64313 (ticket agents) first and bus drivers third at 0.06.
    past = model.map("", "Drove buses on city routes. Collected fares and sold tickets. Kept the daily log.")
    now = model.map("", "Drive buses on city routes. Collect fares and sell tickets. Keep the daily log.")
    assert past.suggestions[0].code == now.suggestions[0].code == "73301"
    assert past.suggestions[0].confidence == pytest.approx(now.suggestions[0].confidence, abs=0.05)


def test_missing_or_corrupt_model_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="nocfit refresh"):
        MapperModel.load(tmp_path / "none.pkl")
    (tmp_path / "bad.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ModelError, match="cannot load"):
        MapperModel.load(tmp_path / "bad.pkl")
    for payload in ({"format": 2}, {"format": 2, "model": [1]}, [1]):  # loads, but is no model
        (tmp_path / "other.pkl").write_bytes(pickle.dumps(payload))
        with pytest.raises(ModelError, match="not a nocfit model"):
            MapperModel.load(tmp_path / "other.pkl")


def test_a_worse_candidate_is_not_promoted_but_the_refresh_publishes(
    cloned: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed promotion gate keeps the current model, still publishes the tables, and says so
    (exit code 3: published, with a warning); the same data and code are not retrained again on
    every refresh (three minutes each, to be refused again), unless asked."""
    from nocfit import mapper_ops
    from nocfit.cli import EXIT_WARNINGS, main
    from nocfit.ingest.checks import CheckOutcome

    models = Path(cloned["NOCFIT_MODELS"])
    current_before = (models / "current.pkl").read_bytes()
    trainings: list[str] = []

    def train(corpus, log) -> MapperModel:
        # Training is not under test (it takes minutes): the "retrained" model is a reloaded copy.
        trainings.append("trained")
        return MapperModel.load(models / "current.pkl")

    monkeypatch.setattr("mapper.train.train", train)
    # The official data "changed": the promoted model is out of date, so a refresh trains.
    monkeypatch.setattr(mapper_ops, "model_fingerprint", lambda source_fingerprint: "newdata00000000")
    monkeypatch.setattr(
        mapper_ops, "gate", lambda con, run_id: CheckOutcome(False, "candidate is worse: top-1 0.500 < 0.600")
    )
    assert main(["refresh"]) == EXIT_WARNINGS
    out = capsys.readouterr().out
    assert "WARNING: the new mapper model was NOT promoted" in out and "top-1 0.500 < 0.600" in out
    assert (models / "current.pkl").read_bytes() == current_before
    with duckdb.connect(cloned["NOCFIT_WAREHOUSE"], read_only=True) as con:
        # The evaluation of the rejected candidate was published; no second promotion recorded.
        assert con.execute("SELECT count(DISTINCT run_id) FROM mapper.evaluations").fetchone()[0] == 2
        assert con.execute("SELECT count(*) FROM mapper.promotions").fetchone()[0] == 1
    assert trainings == ["trained"]

    assert main(["refresh"]) == 0  # nothing new: not retrained, nothing to warn about
    captured = capsys.readouterr()
    assert trainings == ["trained"]
    assert "newdata00000000) was kept back by run" in captured.err and "--retrain" in captured.err

    assert main(["refresh", "--retrain"]) == EXIT_WARNINGS  # asked: trained (and refused) again
    assert trainings == ["trained", "trained"]

    # A new labelled set deserves a new try, and so does an installation with no model at all
    # (models folder wiped): the refusal was against the current model on the old set.
    shorter = Path(cloned["NOCFIT_MODELS"]).parent / "dev-shorter.jsonl"
    shorter.write_text(
        "".join((Path(cloned["NOCFIT_SOURCES"]) / "bench" / "noc_dev.jsonl").open().readlines()[:-1])
    )
    monkeypatch.setenv("NOCFIT_EVAL_SET", str(shorter))
    assert main(["refresh"]) == EXIT_WARNINGS
    assert len(trainings) == 3
    for name in ("current.pkl", "current.pkl.json"):
        (models / name).unlink()
    main(["refresh"])
    assert len(trainings) == 4


def test_the_model_fingerprint_follows_what_the_mapper_reads(cloned: dict[str, str]) -> None:
    """A change to a file the mapper never reads used to retrain it (3 minutes), and an optional
    file that went away left the model as it was."""
    import duckdb

    from mapper.corpus import NocCorpus

    with duckdb.connect(cloned["NOCFIT_WAREHOUSE"]) as con:
        before = NocCorpus.from_duckdb(con).source_fingerprint
        con.execute("UPDATE meta.source_files SET sha256 = 'edited' WHERE source_key = 'noc_concordance'")
        assert NocCorpus.from_duckdb(con).source_fingerprint == before
        con.execute("DELETE FROM noc.all_examples WHERE lang = 'fr'")
        assert NocCorpus.from_duckdb(con).source_fingerprint != before
