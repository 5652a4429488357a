"""Category rules: occupation months, confidence, continuity, location, French, not-assessable.

The category versions are built here from dicts that mirror the curated facts (IRCC category
lists 2023-2026: codes, rules and dates) until the project's own YAML files and loader exist.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from nocfit.categories.model import CategoryVersion
from nocfit.fit.candidates import Candidate, LanguageResult, WorkSpell, read_candidates
from nocfit.fit.rules import (
    ENUMERATION_CAP,
    CategoryResult,
    claimed_noc_mismatches,
    evaluate_candidate,
    evaluate_category,
    evaluate_version,
)

D = dt.date.fromisoformat
EXAMPLES = Path(__file__).resolve().parent.parent / "data" / "examples" / "candidates.jsonl"


def _codes(text: str) -> list[str]:
    return text.split()


# -- category versions mirroring the real facts ---------------------------------------------------

HEALTH_2023 = _codes(
    "31112 31201 31110 31121 41320 31102 42203 31204 32101 32201 33101 32120 32121 32122 33102 31302 "
    "31300 31203 31111 33109 32209 31209 32109 32102 33103 31303 31202 31200 31301 32103 31100 31101 "
    "41301 32200 31103"
)
STEM_2023 = _codes(
    "21200 20011 21221 21300 20012 21311 21230 21220 21211 21223 21310 20010 21321 21222 21203 21201 "
    "21210 21322 41400 21232 21231 21202 21233 21234"
)
TRADES_2023 = _codes("73200 72406 72405 72402 72400 72310 72300 72200 72106 72014")
TRANSPORT_2023 = _codes("93200 73300 72604 72603 72602 72601 72600 72404 72403 70020")
AGRICULTURE_2023 = _codes("82031 82030 63201")
HEALTH_2025 = _codes(
    "31100 31101 31102 31103 31110 31111 31112 31120 31121 31200 31201 31202 31203 31209 31300 31301 "
    "31302 31303 32101 32102 32103 32104 32109 32111 32120 32121 32122 32123 32124 32129 32201 33101 "
    "33102 33103 41300 41301 42201"
)
STEM_2025 = _codes("20011 21220 21300 21301 21310 21321 21331 22300 22301 22310 63100")
TRADES_2025 = _codes(
    "22303 63200 70010 70011 72100 72102 72106 72200 72201 72300 72302 72310 72311 72320 72400 72401 "
    "72402 72422 72501 72999 73100 73110 73112 73113 82021"
)
TRADES_2026 = sorted((set(TRADES_2025) - {"63200"}) | {"63201"})
EDUCATION = _codes("41220 41221 42202 42203 43100")
PHYSICIANS = _codes("31100 31101 31102")
TRANSPORT_2026 = _codes("22313 72404 72410 72600")
SENIOR_MANAGERS = _codes("00012 00013 00014 00015")
RESEARCHERS = _codes("41200 41201")
MILITARY = _codes("40042 42102 43204")

TITLES = {
    "31301": "Registered nurses and registered psychiatric nurses",
    "31300": "Nursing coordinators and supervisors",
    "31102": "General practitioners and family physicians",
    "31100": "Specialists in clinical and laboratory medicine",
    "33102": "Nurse aides, orderlies and patient service associates",
    "42201": "Social and community service workers",
    "21232": "Software developers and programmers",
    "72310": "Carpenters",
    "72106": "Welders and related machine operators",
    "72200": "Electricians (except industrial and power system)",
    "72401": "Heavy-duty equipment mechanics",
    "72410": "Automotive service technicians, truck and bus mechanics and mechanical repairers",
    "63200": "Cooks",
    "63201": "Butchers - retail and wholesale",
    "73300": "Transport truck drivers",
    "82030": "Agricultural service contractors and farm supervisors",
    "41221": "Elementary school and kindergarten teachers",
    "41200": "University professors and lecturers",
    "00015": "Senior managers - construction, transportation, production and utilities",
    "40042": "Commissioned officers of the Canadian Armed Forces",
}
MAPPER_TITLES = {  # titles of codes the mapper may return that are in no list
    "13110": "Administrative assistants",
    "62020": "Food service supervisors",
    "11100": "Financial auditors and accountants",
    "70020": "Managers in transportation",
}
MILITARY_REASON = (
    "Requires 10+ years of continuous service in a recognized foreign military and an arranged employment offer "
    "from the Canadian Forces Recruiting Group; nocfit cannot verify either."
)


def occupation_rules(months: int, continuous: object, *, canada: bool = False) -> dict:
    return {
        "min_months": months,
        "window_months": 36,
        "continuous": continuous,
        "single_occupation": True,
        "full_time_hours_per_week": 30.0,
        "experience_location": "canada_only" if canada else "canada_or_abroad",
        "canadian_experience_required": canada,
        "canadian_experience_min_months": months if canada else None,
        "language": None,
        "assessable": True,
        "not_assessable_reason": None,
        "other_requirements": [],
    }


FRENCH_RULES = {
    **{k: None for k in ("min_months", "window_months", "continuous", "single_occupation")},
    "full_time_hours_per_week": None,
    "experience_location": None,
    "canadian_experience_required": False,
    "canadian_experience_min_months": None,
    "language": {
        "language": "fr",
        "scale": "NCLC",
        "min_level": 7,
        "abilities": ["listening", "reading", "speaking", "writing"],
        "test_validity_months": 24,
    },
    "assessable": True,
    "not_assessable_reason": None,
    "other_requirements": ["French test results must be valid (2 years)."],
}
MILITARY_RULES = {
    **FRENCH_RULES,
    "language": None,
    "assessable": False,
    "not_assessable_reason": MILITARY_REASON,
    "other_requirements": ["Foreign military service of 10+ years", "CFRG job offer"],
}


def category(cid: str, name: str, kind: str, rules: dict, codes: list[str], **extra: object) -> dict:
    return {
        "id": cid,
        "name": name,
        "kind": kind,
        "rules": rules,
        "rules_confidence": "high",
        "confidence": "high",
        "citations": ["src"],
        "nocs": [{"code": c, "title": TITLES.get(c, f"NOC 2021 unit group {c}")} for c in codes],
        **extra,
    }


def version(vid: str, start: str, end: str | None, categories: list[dict]) -> CategoryVersion:
    return CategoryVersion.model_validate(
        {
            "schema_version": 1,
            "version_id": vid,
            "label": vid,
            "effective_from": start,
            "effective_from_basis": "test fixture",
            "effective_to": end,
            "effective_to_basis": "test fixture",
            "noc_version": "NOC 2021 V1.0",
            "common_requirement": "In the pool and eligible for FSWP, CEC or FSTP.",
            "citations": [
                {
                    "id": "src",
                    "type": "official",
                    "title": "t",
                    "publisher": None,
                    "url": None,
                    "date": None,
                    "supports": "test",
                }
            ],
            "categories": categories,
        }
    )


FRENCH = category("french", "French-language proficiency", "language", FRENCH_RULES, [])


def _versions_2023_2024() -> list[CategoryVersion]:
    six = occupation_rules(6, True)
    cats = [
        FRENCH,
        category("healthcare", "Healthcare occupations", "occupation", six, HEALTH_2023),
        category("stem", "STEM occupations", "occupation", six, STEM_2023),
        category("trades", "Trade occupations", "occupation", six, TRADES_2023),
        category("transport", "Transport occupations", "occupation", six, TRANSPORT_2023),
        category("agriculture", "Agriculture and agri-food occupations", "occupation", six, AGRICULTURE_2023),
    ]
    return [
        version("cbs-2023", "2023-05-31", "2023-12-31", cats),
        version("cbs-2024", "2024-01-01", "2025-02-26", cats),
    ]


def _version_2025() -> CategoryVersion:
    six = occupation_rules(6, True)
    return version(
        "cbs-2025",
        "2025-02-27",
        "2026-02-17",
        [
            {**FRENCH, "effective_to": "2026-02-05"},
            category(
                "healthcare_social_services",
                "Healthcare and social services occupations",
                "occupation",
                six,
                HEALTH_2025,
            ),
            category("stem", "STEM occupations", "occupation", six, STEM_2025),
            category("trades", "Trade occupations", "occupation", six, TRADES_2025),
            category("education", "Education occupations", "occupation", six, EDUCATION),
            category("agriculture", "Agriculture and agri-food occupations", "occupation", six, ["63201"]),
            category(
                "physicians_canadian_experience",
                "Physicians with Canadian work experience",
                "occupation",
                occupation_rules(12, True, canada=True),
                PHYSICIANS,
                effective_from="2025-12-08",
            ),
        ],
    )


def _version_2026() -> CategoryVersion:
    twelve = occupation_rules(12, False)
    return version(
        "cbs-2026",
        "2026-02-18",
        None,
        [
            {**FRENCH, "effective_from": "2026-02-06"},
            category(
                "healthcare_social_services",
                "Healthcare and social services occupations",
                "occupation",
                twelve,
                HEALTH_2025,
            ),
            category("stem", "STEM occupations", "occupation", twelve, STEM_2025),
            category("trades", "Trade occupations", "occupation", twelve, TRADES_2026),
            category("education", "Education occupations", "occupation", twelve, EDUCATION),
            category("transport", "Transport occupations", "occupation", twelve, TRANSPORT_2026),
            category(
                "physicians_canadian_experience",
                "Physicians with Canadian work experience",
                "occupation",
                occupation_rules(12, "unknown", canada=True),
                PHYSICIANS,
            ),
            category(
                "senior_managers_canadian_experience",
                "Senior managers with Canadian work experience",
                "occupation",
                occupation_rules(12, False, canada=True),
                SENIOR_MANAGERS,
            ),
            category(
                "researchers_canadian_experience",
                "Researchers with Canadian work experience",
                "occupation",
                occupation_rules(12, False, canada=True),
                RESEARCHERS,
            ),
            category(
                "skilled_military_recruits", "Skilled military recruits", "other", MILITARY_RULES, MILITARY
            ),
        ],
    )


VERSIONS = [*_versions_2023_2024(), _version_2025(), _version_2026()]


def version_on(day: dt.date) -> CategoryVersion:
    (found,) = [v for v in VERSIONS if v.covers(day)]
    return found


def cat(version_id: str, category_id: str):
    (found,) = [
        c for c in next(v for v in VERSIONS if v.version_id == version_id).categories if c.id == category_id
    ]
    return found


# -- candidate helpers ---------------------------------------------------------------------------------


def spell(
    start: str,
    end: str | None,
    *,
    hours: float = 40,
    country: str = "CA",
    title: str = "Worker",
    claimed: str | None = None,
) -> WorkSpell:
    return WorkSpell(
        title=title,
        duties="",
        employer="",
        country=country,
        start=D(start),
        end=D(end) if end else None,
        hours_per_week=hours,
        noc_code=claimed,
    )


def person(as_of: str, *spells: WorkSpell, languages: tuple[LanguageResult, ...] = ()) -> Candidate:
    return Candidate(candidate_id="t-1", as_of=D(as_of), languages=languages, work_experience=spells)


def french(
    date: str, listening: int = 7, reading: int = 7, speaking: int = 7, writing: int = 7, language: str = "fr"
) -> LanguageResult:
    return LanguageResult(
        language=language,
        test="TEF Canada",
        test_date=D(date),
        listening=listening,
        reading=reading,
        speaking=speaking,
        writing=writing,
    )


def run(version_id: str, category_id: str, candidate: Candidate, predictions) -> CategoryResult:
    return evaluate_category(
        candidate,
        cat(version_id, category_id),
        predictions,
        version_id=version_id,
        noc_titles={**TITLES, **MAPPER_TITLES},
    )


NURSE = [("31301", 1.0)]


# -- the fixture itself mirrors the facts ---------------------------------------------------------------


def test_fixture_versions_mirror_the_published_counts():
    counts = {(v.version_id, c.id): len(c.nocs) for v in VERSIONS for c in v.categories}
    assert counts[("cbs-2023", "healthcare")] == 35 and counts[("cbs-2023", "stem")] == 24
    assert counts[("cbs-2023", "trades")] == 10 and counts[("cbs-2023", "transport")] == 10
    assert counts[("cbs-2025", "healthcare_social_services")] == 37 and counts[("cbs-2025", "stem")] == 11
    assert counts[("cbs-2025", "trades")] == 25 and counts[("cbs-2026", "trades")] == 25
    assert (
        counts[("cbs-2026", "transport")] == 4
        and counts[("cbs-2026", "senior_managers_canadian_experience")] == 4
    )
    assert version_on(D("2025-02-26")).version_id == "cbs-2024"
    assert version_on(D("2026-02-18")).version_id == "cbs-2026"


# -- occupation rule: months, boundaries -----------------------------------------------------------------


def test_exactly_six_months_passes_a_six_month_continuous_rule():
    result = run(
        "cbs-2025", "trades", person("2025-06-30", spell("2025-01-01", "2025-06-30")), [[("72310", 1.0)]]
    )
    assert result.status == "fit" and result.fit is True and result.confidence == 1.0
    assert result.qualifying_months == 6.0
    assert result.best_noc == "72310"
    assert result.reasons[0] == (
        "meets the rule (6 months of continuous experience in one listed occupation within 36 months): "
        "6.0 continuous months in 72310 Carpenters"
    )


def test_one_day_short_of_six_months_fails_with_zero_confidence():
    result = run(
        "cbs-2025", "trades", person("2025-06-30", spell("2025-01-01", "2025-06-29")), [[("72310", 1.0)]]
    )
    assert result.status == "no_fit" and result.fit is False and result.confidence == 0.0
    assert result.qualifying_months == 5.96  # 5 + 29/30, rounded down
    assert result.reasons[0] == (
        "needs 6 months of continuous experience in one listed occupation within 36 months; "
        "best is 5.96 continuous months in 72310 Carpenters"
    )


def test_exactly_twelve_months_passes_the_2026_rule():
    candidate = person("2026-06-01", spell("2025-06-01", "2026-05-31"))
    assert run("cbs-2026", "healthcare_social_services", candidate, [NURSE]).status == "fit"
    short = person("2026-06-01", spell("2025-06-02", "2026-05-31"))
    result = run("cbs-2026", "healthcare_social_services", short, [NURSE])
    assert result.status == "no_fit" and result.qualifying_months == 11.96
    assert (
        "needs 12 months in one listed occupation within 36 months; best is 11.96 months in 31301"
        in result.reasons[0]
    )


def test_spell_ending_on_window_start_counts_nothing():
    # as_of 2026-06-01, 36-month window: counted days are 2023-06-02 .. 2026-06-01.
    old = spell("2020-01-01", "2023-06-01", title="Welder")
    recent = spell("2025-06-03", None, title="Welder-Fitter")  # 28/30 + 11 + 1/30 = 11.97 months
    result = run(
        "cbs-2026", "trades", person("2026-06-01", old, recent), [[("72106", 1.0)], [("72106", 1.0)]]
    )
    assert result.status == "no_fit" and result.confidence == 0.0
    assert result.qualifying_months == 11.96
    assert (
        "Spell 1 (Welder, 2020-01-01 to 2023-06-01): ended on or before 2023-06-01, outside the 36-month window"
        in result.reasons
    )
    # One more day (ending 2023-06-02) is inside the window and tips the count over 12.
    later = spell("2020-01-01", "2023-06-02", title="Welder")
    assert (
        run(
            "cbs-2026", "trades", person("2026-06-01", later, recent), [[("72106", 1.0)], [("72106", 1.0)]]
        ).status
        == "fit"
    )


def test_spell_starting_after_as_of_counts_nothing():
    result = run(
        "cbs-2026", "healthcare_social_services", person("2026-06-01", spell("2026-07-01", None)), [NURSE]
    )
    assert result.confidence == 0.0 and result.qualifying_months == 0.0
    assert any("starts after 2026-06-01, so it counts nothing" in r for r in result.reasons)


def test_part_time_counts_pro_rata():
    half_time = person("2026-06-01", spell("2024-06-01", "2026-05-31", hours=15, title="Registered Nurse"))
    result = run("cbs-2026", "healthcare_social_services", half_time, [NURSE])
    assert result.status == "fit" and result.qualifying_months == 12.0
    assert "at 15 h/week (counted as 50% of full time)" in result.reasons[1]
    less = person("2026-06-01", spell("2024-06-01", "2026-05-31", hours=14))
    assert run("cbs-2026", "healthcare_social_services", less, [NURSE]).status == "no_fit"


def test_best_occupation_of_a_spell_that_cannot_qualify_is_its_likeliest_listed_code():
    # Part-time, so no code reaches 12 months and every code's chance is 0; the months tie too
    # (both codes are plausible for the one spell). The code named must be the mapper's
    # likelier one (31301), not whichever the category lists first (31102 comes before it).
    nurse = person("2026-06-01", spell("2024-06-01", "2026-05-31", hours=14, title="Registered Nurse"))
    result = run("cbs-2026", "healthcare_social_services", nurse, [[("31102", 0.18), ("31301", 0.65)]])
    assert result.status == "no_fit" and result.confidence == 0.0
    assert result.best_noc == "31301"
    assert "in 31301 Registered nurses" in result.reasons[0]


def test_overlapping_spells_in_one_code_are_capped_at_full_time():
    main = spell("2025-08-04", None, title="Electrician")
    side = spell("2025-08-16", None, hours=15, title="Electrician (weekend)")
    result = run("cbs-2026", "trades", person("2026-06-01", main, side), [[("72200", 1.0)], [("72200", 1.0)]])
    assert result.status == "no_fit" and result.confidence == 0.0
    assert result.qualifying_months == pytest.approx(9.93, abs=0.01)
    assert any(r.startswith("overlapping spells 1 and 2 in 72200 are counted once") for r in result.reasons)


def test_months_in_two_codes_do_not_add_up_under_single_occupation():
    a = spell("2024-06-01", "2025-03-31")  # 10 months
    b = spell("2025-04-01", "2026-05-31")  # 14 months... in a different listed code
    ok = run("cbs-2026", "trades", person("2026-06-01", a, b), [[("72310", 1.0)], [("72311", 1.0)]])
    assert ok.status == "fit" and ok.best_noc == "72311"
    c = spell("2025-06-01", "2026-05-31", hours=20)  # 8 months in 72311
    split = run("cbs-2026", "trades", person("2026-06-01", a, c), [[("72310", 1.0)], [("72311", 1.0)]])
    assert split.status == "no_fit" and split.confidence == 0.0  # 10 + 8 but in two occupations


# -- continuity ---------------------------------------------------------------------------------------------


def test_two_separate_four_month_spells_are_not_continuous():
    first = spell("2024-04-01", "2024-07-31", title="Carpenter")
    second = spell("2024-10-01", "2025-01-31", title="Finish Carpenter")
    result = run(
        "cbs-2025", "trades", person("2025-06-01", first, second), [[("72310", 0.9)], [("72310", 0.9)]]
    )
    assert result.status == "no_fit" and result.confidence == 0.0
    assert result.qualifying_months == 4.0
    assert "best is 4.0 continuous months in 72310 Carpenters" in result.reasons[0]
    assert any("not continuous" in r for r in result.reasons)
    # The same spells count 8 months where continuity is not required (2026 rule needs 12, so still no).
    assert (
        run(
            "cbs-2026", "trades", person("2026-01-31", first, second), [[("72310", 0.9)], [("72310", 0.9)]]
        ).qualifying_months
        == 8.0
    )


@pytest.mark.parametrize(("second_start", "status"), [("2025-01-08", "fit"), ("2025-01-09", "no_fit")])
def test_continuity_gap_of_seven_days_joins_but_eight_does_not(second_start, status):
    first = spell("2024-09-01", "2024-12-31")  # 4.0 months
    second = spell(second_start, "2025-03-31")  # about 2.7 months
    result = run(
        "cbs-2025", "trades", person("2025-06-01", first, second), [[("72310", 1.0)], [("72310", 1.0)]]
    )
    assert result.status == status


def test_unknown_continuity_that_decides_the_outcome_averages_both_readings():
    a = spell("2024-08-01", "2025-03-31", title="Hospitalist")  # 8 months
    b = spell("2025-06-01", "2025-11-30", title="Hospitalist (locum)")  # 6 months, 2-month gap
    candidate = person("2026-06-01", a, b)
    sure = run("cbs-2026", "physicians_canadian_experience", candidate, [[("31102", 1.0)], [("31102", 1.0)]])
    assert sure.confidence == 0.5 and sure.status == "fit"  # (0.0 continuous + 1.0 not) / 2
    assert any(r.startswith("the continuity rule is uncertain and decides the outcome") for r in sure.reasons)
    unsure = run(
        "cbs-2026", "physicians_canadian_experience", candidate, [[("31102", 0.9)], [("31102", 0.9)]]
    )
    assert unsure.confidence == pytest.approx(0.405)  # (0 + 0.81) / 2
    assert unsure.status == "no_fit"
    assert unsure.qualifying_months == 14.0


def test_unknown_continuity_that_does_not_matter_is_mentioned_but_not_averaged_down():
    candidate = person("2026-06-01", spell("2024-07-02", None, title="Family Physician"))
    result = run("cbs-2026", "physicians_canadian_experience", candidate, [[("31102", 0.95)]])
    assert result.status == "fit" and result.confidence == pytest.approx(0.95)
    assert any("continuity rule is uncertain but does not change the outcome" in r for r in result.reasons)


# -- location ---------------------------------------------------------------------------------------------


def test_canada_only_category_ignores_experience_abroad():
    abroad = person("2026-06-01", spell("2019-02-01", None, country="NG", title="Family Physician"))
    physicians = run("cbs-2026", "physicians_canadian_experience", abroad, [[("31102", 0.95)]])
    assert physicians.status == "no_fit" and physicians.confidence == 0.0
    assert (
        "Spell 1 (Family Physician, NG, 2019-02-01 to ongoing): experience outside Canada does not count for this category"
        in physicians.reasons
    )
    assert "no eligible experience in Canada in the window" in physicians.reasons[0]
    # The general healthcare category accepts experience abroad.
    assert run("cbs-2026", "healthcare_social_services", abroad, [[("31102", 0.95)]]).status == "fit"


def test_canadian_spell_counts_when_abroad_spells_are_excluded():
    candidate = person(
        "2026-06-01",
        spell("2024-07-02", None, title="Family Physician"),
        spell("2019-08-05", "2024-05-31", country="GB", title="General Practitioner"),
    )
    result = run(
        "cbs-2026", "physicians_canadian_experience", candidate, [[("31102", 0.97)], [("31102", 0.97)]]
    )
    assert result.status == "fit" and result.qualifying_months == 23.0  # 30/31 + 22 + 1/30
    assert any("GB" in r and "outside Canada" in r for r in result.reasons)


# -- confidence ---------------------------------------------------------------------------------------------


def test_clear_nurse_gives_high_confidence():
    candidate = person("2026-06-01", spell("2024-06-01", None, title="Registered Nurse"))
    result = run("cbs-2026", "healthcare_social_services", candidate, [[("31301", 0.95), ("62020", 0.03)]])
    assert result.status == "fit" and result.confidence >= 0.9
    assert result.confidence == pytest.approx(0.95)
    assert result.reasons[1] == (
        "Spell 1 (Registered Nurse, 2024-06-01 to ongoing): 24.03 months in 31301 Registered nurses and "
        "registered psychiatric nurses (mapper p=0.95)"
    )


def test_listed_codes_of_one_spell_add_up():
    candidate = person("2026-06-01", spell("2024-06-01", None))
    result = run("cbs-2026", "healthcare_social_services", candidate, [[("31301", 0.6), ("31300", 0.3)]])
    assert result.confidence == pytest.approx(0.9)
    assert result.best_noc == "31301"


def test_spell_split_between_listed_and_unlisted_code_is_middling():
    candidate = person("2026-06-01", spell("2024-06-01", None, title="Coordinator"))
    result = run("cbs-2026", "healthcare_social_services", candidate, [[("31301", 0.4), ("13110", 0.4)]])
    assert 0.3 < result.confidence < 0.7
    assert result.confidence == pytest.approx(0.4)
    assert result.status == "no_fit" and result.fit is False
    assert "the occupation match is uncertain (P=0.40)" in result.reasons[0]
    assert any(r.startswith("confidence 0.40 reflects the NOC mapper's uncertainty") for r in result.reasons)


def test_spells_are_independent_and_need_the_same_code():
    a = spell("2025-01-01", "2025-07-31", title="Framer")  # 7 months
    b = spell("2025-08-01", "2026-02-28", title="Finish carpenter")  # 7 months
    result = run("cbs-2026", "trades", person("2026-06-01", a, b), [[("72310", 0.5)], [("72310", 0.5)]])
    assert result.confidence == pytest.approx(0.25)  # both spells must be carpentry
    mixed = run(
        "cbs-2026",
        "trades",
        person("2026-06-01", a, b),
        [[("72310", 0.5), ("72311", 0.5)], [("72310", 0.5), ("72311", 0.5)]],
    )
    assert mixed.confidence == pytest.approx(0.5)  # same code with probability 0.25 + 0.25


def test_one_job_cut_into_spells_shares_one_reading():
    # The mapper reads only the title and duties, so pieces of one job are right or wrong together:
    # cutting a job (or writing it twice at half time) must not add chances to qualify.
    whole = run(
        "cbs-2026",
        "trades",
        person("2026-06-01", spell("2024-03-01", None, title="Butcher")),
        [[("63201", 0.3)]],
    )
    pieces = person(
        "2026-06-01",
        spell("2024-03-01", "2025-04-30", title="Butcher"),
        spell("2025-05-01", None, title="  BUTCHER "),  # case and spacing do not make another text
    )
    cut = run("cbs-2026", "trades", pieces, [[("63201", 0.3)]] * 2)
    assert whole.confidence == cut.confidence == pytest.approx(0.3)
    halves = person(
        "2026-06-01",
        spell("2024-03-01", None, hours=15, title="Butcher"),
        spell("2024-03-01", None, hours=15, title="Butcher"),
    )
    assert run("cbs-2026", "trades", halves, [[("63201", 0.3)]] * 2).confidence == pytest.approx(0.3)
    # Different texts stay independent: either half-time job alone has 13.5 months, 1 - 0.7**2.
    other = person(
        "2026-06-01",
        spell("2024-03-01", None, hours=15, title="Butcher"),
        spell("2024-03-01", None, hours=15, title="Meat cutter"),
    )
    assert run("cbs-2026", "trades", other, [[("63201", 0.3)]] * 2).confidence == pytest.approx(0.51)


def test_failed_rule_gives_zero_confidence_even_with_a_sure_code():
    result = run("cbs-2026", "trades", person("2026-06-01", spell("2026-01-01", None)), [[("72310", 1.0)]])
    assert result.confidence == 0.0 and result.status == "no_fit"
    assert result.reasons[0] == (
        "needs 12 months in one listed occupation within 36 months; best is 5.03 months in 72310 Carpenters"
    )


def test_unlisted_occupation_is_a_clear_no_fit():
    cook = person("2026-06-01", spell("2023-08-14", None, title="Cook"))
    result = run("cbs-2026", "trades", cook, [[("63200", 0.92), ("62200", 0.05)]])
    assert result.status == "no_fit" and result.confidence == 0.0 and result.best_noc is None
    assert result.reasons[0].endswith("no experience in a listed occupation")
    assert "not in a listed occupation (mapper: 63200 Cooks, p=0.92)" in result.reasons[1]
    # The same cook fits the 2025 trades list, which had Cooks.
    assert run("cbs-2025", "trades", person("2025-06-01", spell("2023-08-14", None)), [[("63200", 0.92)]]).fit


def test_monte_carlo_above_the_cap_is_deterministic_and_close_to_exact():
    n = 13  # 3**13 assignments > ENUMERATION_CAP
    assert 3**n > ENUMERATION_CAP
    spells = [spell("2024-06-01", None, title=f"Worker {k}") for k in range(n)]  # n different jobs
    predictions = [[("72310", 0.1), ("72311", 0.1)]] * n
    candidate = person("2026-06-01", *spells)
    first = run("cbs-2026", "trades", candidate, predictions)
    second = run("cbs-2026", "trades", candidate, predictions)
    assert first.confidence == second.confidence
    assert first.confidence == pytest.approx(1 - 0.8**n, abs=0.015)
    assert any("Monte Carlo" in r for r in first.reasons)


def test_exact_enumeration_below_the_cap():
    n = 7  # 3**7 = 2187 assignments
    candidate = person("2026-06-01", *[spell("2024-06-01", None, title=f"Worker {k}") for k in range(n)])
    result = run("cbs-2026", "trades", candidate, [[("72310", 0.1), ("72311", 0.1)]] * n)
    assert result.confidence == pytest.approx(round(1 - 0.8**n, 4))
    assert not any("Monte Carlo" in r for r in result.reasons)


def test_missing_prediction_counts_as_other():
    result = run("cbs-2026", "trades", person("2026-06-01", spell("2024-06-01", None)), [[]])
    assert result.confidence == 0.0
    assert "no NOC prediction for this spell" in result.reasons[1]


def test_bad_probabilities_are_sanitised():
    candidate = person("2026-06-01", spell("2024-06-01", None))
    # Mass above 1 is normalised; NaN and negative entries are dropped.
    result = run(
        "cbs-2026",
        "trades",
        candidate,
        [[("72310", 1.5), ("13110", 0.5), ("72311", float("nan")), ("72300", -1.0)]],
    )
    assert result.confidence == pytest.approx(0.75)


def test_prediction_count_must_match_spells():
    with pytest.raises(ValueError, match="2 NOC predictions for 1 work spells"):
        run("cbs-2026", "trades", person("2026-06-01", spell("2024-06-01", None)), [NURSE, NURSE])


# -- French -------------------------------------------------------------------------------------------------


def test_valid_french_test_fits():
    result = run(
        "cbs-2026", "french", person("2026-06-01", languages=(french("2025-09-01", reading=8),)), None
    )
    assert result.status == "fit" and result.confidence == 1.0 and result.qualifying_months == 0.0
    assert "French test TEF Canada of 2025-09-01: NCLC 7/8/7/7" in result.reasons[1]


def test_french_ability_below_seven_fails_and_names_it():
    result = run(
        "cbs-2026", "french", person("2026-06-01", languages=(french("2025-09-01", speaking=6),)), None
    )
    assert result.status == "no_fit" and result.confidence == 0.0
    assert "speaking NCLC 6 below NCLC 7" in result.reasons[1]


def test_expired_french_test_fails():
    result = run(
        "cbs-2025", "french", person("2025-06-01", languages=(french("2023-05-15", 8, 8, 8, 8),)), None
    )
    assert result.status == "no_fit" and result.confidence == 0.0
    assert "expired on 2025-05-15" in result.reasons[1]


@pytest.mark.parametrize(("test_date", "status"), [("2024-06-01", "no_fit"), ("2024-06-02", "fit")])
def test_french_test_exactly_24_months_old_has_expired(test_date, status):
    result = run("cbs-2026", "french", person("2026-06-01", languages=(french(test_date),)), None)
    assert result.status == status


def test_french_test_after_as_of_and_english_tests_do_not_count():
    candidate = person("2026-06-01", languages=(french("2026-07-01"), french("2025-09-01", language="en")))
    result = run("cbs-2026", "french", candidate, None)
    assert result.status == "no_fit"
    assert any("dated after 2026-06-01" in r for r in result.reasons)
    assert run("cbs-2026", "french", person("2026-06-01"), None).reasons[0].endswith("no French test result")


def test_one_valid_test_is_enough():
    tests = (
        french("2023-01-10", 9, 9, 9, 9),
        french("2025-11-01", 7, 7, 7, 7),
        french("2026-01-01", 6, 9, 9, 9),
    )
    result = run("cbs-2026", "french", person("2026-06-01", languages=tests), None)
    assert result.fit is True and len(result.reasons) == 4


# -- not assessable -----------------------------------------------------------------------------------------


def test_military_officer_is_not_assessable_never_a_silent_false():
    officer = person(
        "2026-06-01", spell("2012-01-15", None, country="AU", title="Infantry Company Commander")
    )
    result = run("cbs-2026", "skilled_military_recruits", officer, [[("40042", 0.85), ("00015", 0.05)]])
    assert result.status == "not_assessable" and result.fit is None and result.confidence is None
    assert result.reasons[0] == MILITARY_REASON
    assert result.best_noc == "40042"


def test_non_military_candidate_is_a_clear_no_fit_for_military():
    nurse = person("2026-06-01", spell("2024-06-01", None))
    result = run("cbs-2026", "skilled_military_recruits", nurse, [[("31301", 0.95), ("40042", 0.01)]])
    assert result.status == "no_fit" and result.fit is False
    assert result.confidence == pytest.approx(0.01)  # P(meets) <= P(any military experience)
    assert result.reasons[0].startswith(
        "no experience in the listed occupations (40042 Commissioned officers"
    )
    assert result.reasons[0].endswith("(probability of no such experience: 0.99)")


def test_small_military_mass_over_threshold_is_not_assessable():
    two = person("2026-06-01", spell("2020-01-01", "2022-12-31"), spell("2023-01-01", None))
    result = run("cbs-2026", "skilled_military_recruits", two, [[("43204", 0.03)], [("42102", 0.03)]])
    assert result.status == "not_assessable"  # P(any) = 1 - 0.97**2 = 0.059 >= 0.05


# -- claimed NOC -----------------------------------------------------------------------------------------------


def test_claimed_noc_that_disagrees_with_the_duties_is_flagged():
    lead = person("2024-06-01", spell("2022-04-04", None, title="Shift Lead", claimed="21232"))
    predictions = [[("62020", 0.78), ("21232", 0.05)]]
    result = run("cbs-2024", "stem", lead, predictions)
    assert result.claimed_noc_mismatch is True
    assert result.status == "no_fit" and result.confidence == pytest.approx(0.05)
    assert (
        "Spell 1 claims NOC 21232 Software developers and programmers, but its title and duties read as "
        "62020 Food service supervisors (mapper p=0.78; claimed code p=0.05)"
    ) in result.reasons
    assert claimed_noc_mismatches(lead, predictions) == [0]


@pytest.mark.parametrize(
    "prediction",
    [[("21232", 0.6), ("21231", 0.3)], [("21231", 0.5), ("21232", 0.25)], []],
    ids=["claimed-is-top", "claimed-plausible", "no-prediction"],
)
def test_claimed_noc_not_flagged_when_plausible(prediction):
    dev = person("2024-06-01", spell("2022-04-04", None, claimed="21232"))
    assert run("cbs-2024", "stem", dev, [prediction]).claimed_noc_mismatch is False


# -- whole-version evaluation ---------------------------------------------------------------------------------


def test_evaluate_version_applies_category_dates():
    candidate = person("2025-06-01", spell("2024-06-01", None))
    ids = [r.category_id for r in evaluate_version(candidate, _version_2025(), [NURSE])]
    assert "physicians_canadian_experience" not in ids and "french" in ids
    later = [
        r.category_id for r in evaluate_version(candidate, _version_2025(), [NURSE], as_of=D("2026-01-15"))
    ]
    assert "physicians_canadian_experience" in later and "french" in later
    last = [
        r.category_id for r in evaluate_version(candidate, _version_2025(), [NURSE], as_of=D("2026-02-10"))
    ]
    assert "french" not in last


def test_results_serialise_to_plain_dicts():
    candidate = person("2026-06-01", spell("2024-06-01", None))
    results = evaluate_candidate(
        candidate, _version_2026().categories_on(D("2026-06-01")), [NURSE], version_id="cbs-2026"
    )
    assert len(results) == 10
    data = json.loads(json.dumps([r.to_dict() for r in results]))
    assert data[1]["category_id"] == "healthcare_social_services" and data[1]["status"] == "fit"
    assert isinstance(data[1]["reasons"], list) and data[1]["as_of"] == "2026-06-01"
    assert {r.status for r in results} == {"fit", "no_fit"}


# -- the example candidates ------------------------------------------------------------------------------------

#: What a good mapper would say about each example spell (stand-in for the real NOC mapper).
ORACLE: dict[str, list[list[tuple[str, float]]]] = {
    "ex-001": [[("31301", 0.95), ("31300", 0.02)], [("31301", 0.9), ("32101", 0.05)]],
    "ex-002": [[("31301", 0.9), ("32101", 0.06)]],
    "ex-003": [[("21232", 0.85), ("21231", 0.1)]],
    "ex-004": [[("21232", 0.85), ("21231", 0.1)], [("21232", 0.8), ("21231", 0.12)]],
    "ex-005": [[("72310", 0.93)], [("72310", 0.85), ("72311", 0.08)]],
    "ex-006": [[("13110", 0.9)]],
    "ex-007": [[("11100", 0.9)]],
    "ex-008": [[("31102", 0.95)]],
    "ex-009": [[("31102", 0.95)], [("31102", 0.93)]],
    "ex-010": [[("00015", 0.7), ("70020", 0.2)]],
    "ex-011": [[("41200", 0.92)], [("41201", 0.4), ("21101", 0.3)]],
    "ex-012": [[("63200", 0.9), ("62200", 0.05)]],
    "ex-013": [[("63200", 0.9), ("62200", 0.05)]],
    "ex-014": [[("63201", 0.9), ("94141", 0.07)]],
    "ex-015": [[("72410", 0.8), ("72401", 0.1)]],
    "ex-016": [[("13110", 0.22), ("31300", 0.12), ("42201", 0.1), ("14103", 0.08)]],
    "ex-017": [[("62020", 0.78), ("65201", 0.08), ("21232", 0.01)]],
    "ex-018": [[("40042", 0.85), ("00015", 0.03)]],
    "ex-019": [[("72200", 0.9), ("72201", 0.05)], [("72200", 0.85), ("72201", 0.05)]],
    "ex-020": [[("72106", 0.95)], [("72106", 0.9), ("72302", 0.05)]],
    "ex-021": [[("31102", 0.9), ("31100", 0.05)], [("31102", 0.9)]],
    "ex-022": [[("73300", 0.95)]],
    "ex-023": [[("82030", 0.85), ("84120", 0.1)]],
    "ex-024": [[("41221", 0.95)]],
    "ex-025": [[("33102", 0.9), ("44101", 0.05)]],
}

#: Expected statuses (categories not named are no_fit); must match data/examples/README.md.
EXPECTED = {
    "ex-001": {"healthcare_social_services": "fit"},
    "ex-002": {},
    "ex-003": {"stem": "fit"},
    "ex-004": {},
    "ex-005": {},
    "ex-006": {},
    "ex-007": {"french": "fit"},
    "ex-008": {"healthcare_social_services": "fit"},
    "ex-009": {"healthcare_social_services": "fit", "physicians_canadian_experience": "fit"},
    "ex-010": {"senior_managers_canadian_experience": "fit"},
    "ex-011": {"researchers_canadian_experience": "fit"},
    "ex-012": {"trades": "fit"},
    "ex-013": {},
    "ex-014": {"trades": "fit"},
    "ex-015": {"transport": "fit"},
    "ex-016": {},
    "ex-017": {},
    "ex-018": {"skilled_military_recruits": "not_assessable"},
    "ex-019": {},
    "ex-020": {},
    "ex-021": {"healthcare_social_services": "fit"},
    "ex-022": {"transport": "fit"},
    "ex-023": {"agriculture": "fit"},
    "ex-024": {"education": "fit"},
    "ex-025": {"healthcare": "fit"},
}


def _example_results() -> dict[str, list[CategoryResult]]:
    candidates, rejects = read_candidates(
        EXAMPLES.read_text(encoding="utf-8").splitlines(), default_as_of=D("2026-06-01")
    )
    assert rejects == []
    return {
        c.candidate_id: evaluate_version(
            c, version_on(c.as_of), ORACLE[c.candidate_id], noc_titles={**TITLES, **MAPPER_TITLES}
        )
        for c in candidates
    }


def test_examples_give_the_documented_outcomes():
    results = _example_results()
    assert set(results) == set(EXPECTED)
    for cid, rows in results.items():
        got = {r.category_id: r.status for r in rows}
        want = {r.category_id: EXPECTED[cid].get(r.category_id, "no_fit") for r in rows}
        assert got == want, cid
        assert all(r.claimed_noc_mismatch is (cid == "ex-017") for r in rows), cid
        assert all(r.reasons for r in rows), cid


def test_examples_cover_every_category_of_every_version():
    results = _example_results()
    exercised = {
        (r.version_id, r.category_id) for rows in results.values() for r in rows if r.status != "no_fit"
    }
    ids = {c.id for v in VERSIONS for c in v.categories}
    assert {category_id for _, category_id in exercised} == ids
    assert {version_id for version_id, _ in exercised} == {v.version_id for v in VERSIONS}


def test_example_tricky_cases_explain_themselves():
    results = {cid: {r.category_id: r for r in rows} for cid, rows in _example_results().items()}
    assert "not in a listed occupation (mapper: 21232" in results["ex-004"]["stem"].reasons[1]
    assert results["ex-005"]["trades"].qualifying_months == 4.0
    assert results["ex-002"]["healthcare_social_services"].qualifying_months == pytest.approx(11.35, abs=0.01)
    assert "expired on 2025-05-15" in results["ex-006"]["french"].reasons[1]
    assert any("outside Canada" in r for r in results["ex-008"]["physicians_canadian_experience"].reasons)
    assert results["ex-013"]["trades"].confidence == 0.0
    assert results["ex-015"]["trades"].confidence == pytest.approx(0.1)
    assert 0.0 < results["ex-016"]["healthcare_social_services"].confidence < 0.5
    assert any(
        "continuity rule is uncertain and decides" in r
        for r in results["ex-021"]["physicians_canadian_experience"].reasons
    )
    assert any(r.startswith("overlapping spells 1 and 2") for r in results["ex-019"]["trades"].reasons)
    assert results["ex-020"]["trades"].qualifying_months == 11.96
