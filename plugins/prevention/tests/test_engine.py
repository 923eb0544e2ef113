"""The engine against the shipped French rules, table-driven, with the evaluation date pinned.

Each row is one patient on one day: ages on each side of the birthdays that matter (the day
before, the day of, the day after), both sexes, with and without history. The expected date
is the one that goes with the status: `since` (due, overdue), `when` (upcoming), `until` (done).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from bouquet_prevention.dates import add_months, add_years
from bouquet_prevention.engine import Act, Engine, PatientFacts, Status
from bouquet_prevention.rulesets import default_rules
from bouquet_prevention.seasons import campaign_dates, default_seasons

ON = date(2026, 11, 28)  # in the 2026-2027 influenza campaign (15 October - 31 January)
DAY = timedelta(days=1)
DUE, OVERDUE, UPCOMING, DONE, NA = (Status.DUE, Status.OVERDUE, Status.UPCOMING, Status.DONE,
                                    Status.NOT_APPLICABLE)


def born(age: int, days_since_birthday: int = 0) -> date:
    """The birth date of someone whose `age`-th birthday was `days_since_birthday` days before ON
    (0: it is today; -1: it is tomorrow)."""
    return add_years(ON - timedelta(days=days_since_birthday), -age)


def ago(years: int = 0, months: int = 0) -> date:
    return add_months(ON, -(12 * years + months))


def birthday(birth: date, age: int) -> date:
    return add_years(birth, age)


@dataclass
class Case:
    name: str
    rule: str
    sex: str | None
    birth: date
    status: Status
    expected: date | None = None
    acts: list[tuple[str, date]] = field(default_factory=list)
    conditions: frozenset[str] = frozenset()
    on: date = ON
    doses: tuple[int, int] | None = None

    def __str__(self) -> str:
        return self.name


def c(name: str, rule: str, sex: str | None, birth: date, status: Status, expected: date | None = None,
      *, acts: Any = (), conditions: Any = (), on: date = ON, doses: tuple[int, int] | None = None) -> Case:
    return Case(name, rule, sex, birth, status, expected, list(acts), frozenset(conditions), on, doses)


DTP, COQ, FLU, FLU_RISK = "dtp-rappel-adulte", "coqueluche-25-ans", "grippe-65-ans", "grippe-risque"
PNEUMO, PNEUMO_RISK, ZONA, ZONA_IMMUNO = "pneumocoque-65-ans", "pneumocoque-risque", "zona-65-ans", "zona-immunodepression"
RSV, RSV_RISK, HPV = "vrs-75-ans", "vrs-65-ans-risque", "hpv"
BREAST, COLON, CERVIX_CYTO, CERVIX_HPV = ("depistage-cancer-sein", "depistage-cancer-colorectal",
                                          "depistage-col-uterus-cytologie", "depistage-col-uterus-test-hpv")
BILAN = "mon-bilan-prevention"
SEASON = date(2026, 10, 15)
DTCAPOLIO, MEN_ACWY, MEN_B = "rappel-dtcapolio-11-13", "meningocoque-acwy-adolescent", "meningocoque-b-15-24"
COVID_65, COVID_RISK, COVID_80, COVID_IMMUNO = ("covid-automne-65-ans", "covid-automne-risque",
                                                "covid-printemps-80-ans", "covid-printemps-immunodepression")
MMR = "ror-rattrapage-nes-depuis-1980"

CASES = [
    # dTP boosters at 25, 45, 65, then every 10 years; an act in the 5 years before stands for an appointment.
    c("dtp: 25 tomorrow", DTP, "F", born(25, -1), UPCOMING, ON + DAY),
    c("dtp: 25 today", DTP, "M", born(25), DUE, ON),
    c("dtp: 25 since yesterday", DTP, "F", born(25, 1), DUE, ON - DAY),
    c("dtp: 26 tomorrow, still due", DTP, "M", born(26, -1), DUE, birthday(born(26, -1), 25)),
    c("dtp: 26 today, overdue", DTP, "F", born(26), OVERDUE, ON),
    c("dtp: 25, dTcaP at 23 covers it", DTP, "F", born(25), DONE, birthday(born(25), 45), acts=[("dTcaP", ago(2))]),
    c("dtp: 25, booster at 19 too old", DTP, "M", born(25), DUE, ON, acts=[("dTP", ago(6))]),
    c("dtp: 44, booster at 26", DTP, "F", born(44), DONE, birthday(born(44), 45), acts=[("dTP", ago(18))]),
    c("dtp: 45 today", DTP, "M", born(45), DUE, ON, acts=[("dTP", ago(19))]),
    c("dtp: 65, booster at 62 covers 65", DTP, "F", born(65), DONE, birthday(born(65), 75), acts=[("dTP", ago(3))]),
    c("dtp: 75 today", DTP, "M", born(75), DUE, ON, acts=[("dTP", ago(10))]),
    c("dtp: 86 today, 85 missed", DTP, "F", born(86), OVERDUE, ON, acts=[("dTP", ago(11))]),
    c("dtp: 20", DTP, "M", born(20), NA),
    c("dtp: 25 in 330 days", DTP, "F", born(25, -330), UPCOMING, ON + timedelta(days=330)),
    c("dtp: 25 in 400 days", DTP, "M", born(25, -400), NA),
    # Pertussis at 25 (dTcaP), catch-up up to 39 ans révolus.
    c("coqueluche: 25 today", COQ, "F", born(25), DUE, ON),
    c("coqueluche: dTcaP at 21", COQ, "M", born(25), DONE, acts=[("dTcaP", ago(4))]),
    c("coqueluche: dTcaP at 19 does not count", COQ, "F", born(25), DUE, ON, acts=[("dTcaP", ago(6))]),
    c("coqueluche: dTP alone does not count", COQ, "M", born(25), DUE, ON, acts=[("dTP", ago(1))]),
    c("coqueluche: 40 tomorrow, overdue", COQ, "F", born(40, -1), OVERDUE, birthday(born(40, -1), 26)),
    c("coqueluche: 40 today", COQ, "M", born(40), NA),
    # Influenza every season from 65 (campaign 15 October - 31 January).
    c("grippe: 65 today", FLU, "F", born(65), DUE, ON),
    c("grippe: 65 tomorrow", FLU, "M", born(65, -1), UPCOMING, ON + DAY),
    c("grippe: 65 in March, after this campaign", FLU, "M", add_years(date(2027, 3, 10), -65), UPCOMING,
      date(2027, 10, 15)),
    c("grippe: 66, not vaccinated this season", FLU, "F", born(66), DUE, SEASON),
    c("grippe: 66, vaccinated this season", FLU, "F", born(66), DONE, date(2027, 10, 15), acts=[("grippe", date(2026, 10, 20))]),
    c("grippe: 66, vaccinated last season", FLU, "M", born(66), DUE, SEASON, acts=[("grippe", date(2025, 11, 2))]),
    c("grippe: in September", FLU, "F", born(70), UPCOMING, SEASON, on=date(2026, 9, 10)),
    c("grippe: last day of the campaign", FLU, "M", born(70), DUE, SEASON, on=date(2027, 1, 31)),
    c("grippe: the day after the campaign", FLU, "F", born(70), UPCOMING, date(2027, 10, 15), on=date(2027, 2, 1)),
    c("grippe: vaccinated in August counts", FLU, "F", born(70), DONE, date(2027, 10, 15), acts=[("grippe", date(2026, 8, 5))]),
    c("grippe: an act after the evaluation date is ignored", FLU, "M", born(70), DUE, SEASON, acts=[("grippe", ON + 3 * DAY)]),
    c("grippe à risque: diabetic, 40", FLU_RISK, "M", born(40), DUE, SEASON, conditions={"diabete"}),
    c("grippe à risque: no condition", FLU_RISK, "F", born(40), NA),
    c("grippe à risque: pregnant", FLU_RISK, "F", born(30), DUE, SEASON, conditions={"grossesse"}),
    c("grippe à risque: infant of 5 months", FLU_RISK, "M", ago(months=5), UPCOMING, add_months(ago(months=5), 6),
      conditions={"immunodepression"}),
    c("grippe à risque: 65, the general rule takes over", FLU_RISK, "F", born(65), NA, conditions={"diabete"}),
    # Pneumococcus from 65 (VPC20, one dose); adults at risk from 18.
    c("pneumocoque: 65 today", PNEUMO, "F", born(65), DUE, ON),
    c("pneumocoque: 65 tomorrow", PNEUMO, "M", born(65, -1), UPCOMING, ON + DAY),
    c("pneumocoque: vaccinated at 66", PNEUMO, "F", born(70), DONE, acts=[("pneumocoque-VPC20", ago(4))]),
    c("pneumocoque à risque: diabetic, 50", PNEUMO_RISK, "M", born(50), DUE, birthday(born(50), 18), conditions={"diabete"}),
    c("pneumocoque à risque: no condition", PNEUMO_RISK, "M", born(50), NA),
    # Shingles from 65: two doses of Shingrix two months apart.
    c("zona: 65 today", ZONA, "M", born(65), DUE, ON, doses=(0, 2)),
    c("zona: first dose a month ago", ZONA, "F", born(67), UPCOMING, add_months(ago(months=1), 2),
      acts=[("zona-Shingrix", ago(months=1))], doses=(1, 2)),
    c("zona: first dose three months ago", ZONA, "M", born(67), DUE, add_months(ago(months=3), 2),
      acts=[("zona-Shingrix", ago(months=3))], doses=(1, 2)),
    c("zona: both doses", ZONA, "F", born(67), DONE, acts=[("zona-Shingrix", ago(1)), ("zona-Shingrix", ago(months=10))],
      doses=(2, 2)),
    c("zona: immunocompromised, 30", ZONA_IMMUNO, "M", born(30), DUE, birthday(born(30), 18),
      conditions={"immunodepression"}, doses=(0, 2)),
    # RSV from 75; from 65 with a chronic respiratory or cardiac disease.
    c("vrs: 75 today", RSV, "F", born(75), DUE, ON),
    c("vrs: 75 tomorrow", RSV, "M", born(75, -1), UPCOMING, ON + DAY),
    c("vrs à risque: 70, heart failure", RSV_RISK, "F", born(70), DUE, birthday(born(70), 65),
      conditions={"insuffisance-cardiaque"}),
    c("vrs à risque: 70, no condition", RSV_RISK, "M", born(70), NA),
    # The term matters (test_rsv_pregnancy.py): without it, upcoming with no date and said so.
    c("vrs grossesse: pregnant, term unknown", "vrs-grossesse", "F", born(30), UPCOMING, None,
      conditions={"grossesse"}),
    c("vrs grossesse: not pregnant", "vrs-grossesse", "F", born(30), NA),
    c("vrs à risque: 75, the general rule takes over", RSV_RISK, "F", born(75), NA,
      conditions={"maladie-respiratoire-chronique"}),
    # HPV at 11-14 (2 doses), catch-up up to 26 ans révolus (3 doses).
    c("hpv: 11 tomorrow", HPV, "F", born(11, -1), UPCOMING, ON + DAY),
    c("hpv: 11 today", HPV, "M", born(11), DUE, ON, doses=(0, 2)),
    c("hpv: 15 tomorrow", HPV, "F", born(15, -1), DUE, birthday(born(15, -1), 11), doses=(0, 2)),
    c("hpv: 15 today, catch-up", HPV, "M", born(15), OVERDUE, ON, doses=(0, 3)),
    c("hpv: 27 tomorrow, still catch-up", HPV, "F", born(27, -1), OVERDUE, birthday(born(27, -1), 15), doses=(0, 3)),
    c("hpv: 27 today", HPV, "M", born(27), NA),
    c("hpv: one dose at 12, second due", HPV, "F", born(13, 220), DUE, ago(months=1), acts=[("HPV", ago(months=7))],
      doses=(1, 2)),
    c("hpv: two doses before 15", HPV, "M", born(14), DONE, acts=[("HPV", ago(2)), ("HPV", ago(1, 6))], doses=(2, 2)),
    c("hpv: catch-up, two doses of three", HPV, "F", born(17), UPCOMING, add_months(ago(months=3), 4),
      acts=[("HPV", ago(months=5)), ("HPV", ago(months=3))], doses=(2, 3)),
    # Organised breast screening: women 50-74, every 2 years.
    c("sein: 50 tomorrow", BREAST, "F", born(50, -1), UPCOMING, ON + DAY),
    c("sein: 50 today", BREAST, "F", born(50), DUE, ON),
    c("sein: 50 and 6 months tomorrow, still due", BREAST, "F", add_months(ON + DAY, -606), DUE,
      add_years(add_months(ON + DAY, -606), 50)),
    c("sein: 50 and 6 months today, overdue", BREAST, "F", add_months(ON, -606), OVERDUE, ON),
    c("sein: a man", BREAST, "M", born(55), NA),
    c("sein: mammography 23 months ago", BREAST, "F", born(60), DONE, add_months(ago(months=23), 24),
      acts=[("mammographie", ago(months=23))]),
    c("sein: mammography 2 years ago", BREAST, "F", born(60), DUE, ON, acts=[("mammographie", ago(2))]),
    c("sein: mammography 30 months ago", BREAST, "F", born(60), OVERDUE, ON, acts=[("mammographie", ago(months=30))]),
    c("sein: 75 tomorrow, done until then", BREAST, "F", born(75, -1), DONE, ON + DAY, acts=[("mammographie", ago(1))]),
    c("sein: 75 today", BREAST, "F", born(75), NA, acts=[("mammographie", ago(3))]),
    # Organised colorectal screening: 50-74, every 2 years.
    c("côlon: 50 today, a man", COLON, "M", born(50), DUE, ON),
    c("côlon: 50 today, a woman", COLON, "F", born(50), DUE, ON),
    c("côlon: test 3 years ago", COLON, "M", born(70), OVERDUE, add_months(ago(3), 30),
      acts=[("test-immunologique-colorectal", ago(3))]),
    c("côlon: 50 in 355 days", COLON, "F", born(49, 10), UPCOMING, birthday(born(49, 10), 50)),
    c("côlon: 48", COLON, "M", born(48), NA),
    # Cervical screening 25-29: two cytologies a year apart, then every 3 years.
    c("col (cytologie): 25 today", CERVIX_CYTO, "F", born(25), DUE, ON),
    c("col (cytologie): first one 6 months ago", CERVIX_CYTO, "F", born(26), DONE, add_months(ago(months=6), 12),
      acts=[("cytologie", ago(months=6))]),
    c("col (cytologie): first one a year ago", CERVIX_CYTO, "F", born(26), DUE, ON, acts=[("cytologie", ago(1))]),
    c("col (cytologie): two, then 3 years", CERVIX_CYTO, "F", born(28), DONE, add_years(ON, 1),
      acts=[("cytologie", ago(3)), ("cytologie", ago(2))]),
    c("col (cytologie): next one after 30", CERVIX_CYTO, "F", born(29, 100), DONE, birthday(born(29, 100), 30),
      acts=[("cytologie", ago(2)), ("cytologie", ago(1))]),
    c("col (cytologie): a man", CERVIX_CYTO, "M", born(26), NA),
    # Cervical screening 30-65: HPV test every 5 years, the first 3 years after the last cytology.
    c("col (test HPV): 30 today", CERVIX_HPV, "F", born(30), DUE, ON),
    c("col (test HPV): cytology at 29", CERVIX_HPV, "F", born(30), DONE, add_years(ON, 2), acts=[("cytologie", ago(1))]),
    c("col (test HPV): test 4 years ago", CERVIX_HPV, "F", born(40), DONE, add_years(ON, 1), acts=[("test-HPV", ago(4))]),
    c("col (test HPV): test 5 years ago", CERVIX_HPV, "F", born(40), DUE, ON, acts=[("test-HPV", ago(5))]),
    c("col (test HPV): 66 tomorrow", CERVIX_HPV, "F", born(66, -1), DUE, ON, acts=[("test-HPV", ago(5))]),
    c("col (test HPV): 66 today", CERVIX_HPV, "F", born(66), NA),
    # Mon bilan prévention: one in each of 18-25, 45-50, 60-65, 70-75.
    c("bilan: 18 tomorrow", BILAN, "M", born(18, -1), UPCOMING, ON + DAY),
    c("bilan: 18 today", BILAN, "F", born(18), DUE, ON),
    c("bilan: 26 tomorrow, still due", BILAN, "M", born(26, -1), DUE, birthday(born(26, -1), 18)),
    c("bilan: 26 today", BILAN, "F", born(26), NA),
    c("bilan: 45 in 6 months", BILAN, "M", add_years(add_months(ON, 6), -45), UPCOMING, add_months(ON, 6)),
    c("bilan: 47, done at 46", BILAN, "F", born(47), DONE, birthday(born(47), 60), acts=[("bilan-prevention", ago(1))]),
    c("bilan: 47, the one at 40 does not count", BILAN, "M", born(47), DUE, birthday(born(47), 45),
      acts=[("bilan-prevention", ago(7))]),
    c("bilan: 72", BILAN, "F", born(72), DUE, birthday(born(72), 70)),
    c("bilan: 76 today", BILAN, "M", born(76), NA),
    # dTcaPolio booster at 11-13 (11th birthday inclusive to the 14th exclusive); the 6-year booster does not count.
    c("dtcapolio: 11 tomorrow", DTCAPOLIO, "F", born(11, -1), UPCOMING, ON + DAY),
    c("dtcapolio: 11 today", DTCAPOLIO, "M", born(11), DUE, ON),
    c("dtcapolio: 13, the day before 14", DTCAPOLIO, "F", born(14, -1), DUE, birthday(born(14, -1), 11)),
    c("dtcapolio: 14 today", DTCAPOLIO, "M", born(14), NA),
    c("dtcapolio: booster at 6 does not count", DTCAPOLIO, "F", born(12), DUE, birthday(born(12), 11),
      acts=[("dTcaP", ago(6))]),
    c("dtcapolio: done at 12", DTCAPOLIO, "M", born(13), DONE, None, acts=[("dTcaP", ago(1))]),
    # The DTCaPolio booster at 6 (2026.1): due from the 6th birthday, overdue from the 7th, until 11.
    c("dtcapolio 6: 6 tomorrow", "rappel-dtcapolio-6-ans", "F", born(6, -1), UPCOMING, ON + DAY),
    c("dtcapolio 6: 6 today", "rappel-dtcapolio-6-ans", "M", born(6), DUE, ON),
    c("dtcapolio 6: 7 today", "rappel-dtcapolio-6-ans", "F", born(7), OVERDUE, ON),
    c("dtcapolio 6: 11 today", "rappel-dtcapolio-6-ans", "M", born(11), NA),
    c("dtcapolio 6: done at 6", "rappel-dtcapolio-6-ans", "F", born(8), DONE, None, acts=[("dTcaP", ago(2))]),
    # Meningococci ACWY: every 11-14-year-old, catch-up to 24 ans révolus (new in 2025); never overdue.
    c("men-acwy: 11 today", MEN_ACWY, "M", born(11), DUE, ON),
    c("men-acwy: 24, the day before 25 (catch-up)", MEN_ACWY, "F", born(25, -1), DUE, birthday(born(25, -1), 11)),
    c("men-acwy: 25 today", MEN_ACWY, "M", born(25), NA),
    c("men-acwy: infant dose does not count", MEN_ACWY, "F", born(13), DUE, birthday(born(13), 11),
      acts=[("meningocoque-ACWY", ago(12))]),
    c("men-acwy: done at 16", MEN_ACWY, "M", born(17), DONE, None, acts=[("meningocoque-ACWY", ago(1))]),
    # Meningococcus B offered at 15-24: two doses at least a month apart.
    c("men-b: 15 tomorrow", MEN_B, "F", born(15, -1), UPCOMING, ON + DAY),
    c("men-b: 19, first dose 2 months ago", MEN_B, "M", born(19), DUE, ago(0, 1), acts=[("meningocoque-B", ago(0, 2))],
      doses=(1, 2)),
    c("men-b: two doses 19 days apart: incomplete", MEN_B, "F", born(20), DUE, add_months(ON - timedelta(days=40), 1),
      acts=[("meningocoque-B", ON - timedelta(days=40 + 19)), ("meningocoque-B", ON - timedelta(days=40))], doses=(1, 2)),
    # COVID-19: autumn for 65+ (real campaign dates from data/seasons), spring for 80+ and the immunocompromised.
    c("covid autumn: 64, the day before 65", COVID_65, "M", born(65, -1), UPCOMING, ON + DAY),
    c("covid autumn: 65 today, in the campaign", COVID_65, "F", born(65), DUE, ON),
    c("covid autumn: 70, vaccinated in October", COVID_65, "M", born(70), DONE, date(2027, 10, 15),
      acts=[("COVID-19", date(2026, 10, 20))]),
    c("covid autumn: 2025-2026 campaign extended to 28 February", COVID_65, "F", born(70), DUE, date(2025, 10, 14),
      on=date(2026, 2, 20)),
    c("covid autumn: after the 2025-2026 campaign", COVID_65, "F", born(70), UPCOMING, date(2026, 10, 15),
      on=date(2026, 3, 1)),
    c("covid risk: 40 without condition", COVID_RISK, "F", born(40), NA),
    c("covid risk: pregnant, 30", COVID_RISK, "F", born(30), DUE, SEASON, conditions=["grossesse"]),
    c("covid spring: 80, autumn dose does not count", COVID_80, "M", born(80), UPCOMING, date(2027, 4, 14),
      acts=[("COVID-19", date(2026, 10, 20))]),
    c("covid spring: 82 during the 2025 campaign", COVID_80, "F", born(82), DUE, date(2025, 4, 14),
      on=date(2025, 5, 2)),
    c("covid spring: immunocompromised 50, vaccinated in April 2025", COVID_IMMUNO, "M", born(50), DONE,
      date(2026, 4, 14), conditions=["immunodepression"], acts=[("COVID-19", date(2025, 4, 20))], on=date(2025, 5, 2)),
    c("covid spring: not immunocompromised", COVID_IMMUNO, "M", born(50), NA),
    # MMR catch-up: two doses for everyone born since 1 January 1980 (a birth-date bound, not an age).
    c("mmr: born 31 December 1979", MMR, "F", date(1979, 12, 31), NA),
    c("mmr: born 1 January 1980", MMR, "M", date(1980, 1, 1), DUE, date(1981, 1, 1)),
    c("mmr: one dose", MMR, "F", born(30), DUE, ago(3), acts=[("ROR", ago(3, 1))], doses=(1, 2)),
    c("mmr: two doses", MMR, "M", born(30), DONE, None, acts=[("ROR", ago(29)), ("ROR", ago(28))], doses=(2, 2)),
    c("mmr: 11 months", MMR, "F", add_months(ON, -11), UPCOMING, add_months(ON, 1)),
    c("bilan: born 29 February, the day before 18", BILAN, "F", date(2008, 2, 29), UPCOMING, date(2026, 3, 1),
      on=date(2026, 2, 28)),
    c("bilan: born 29 February, 18 on 1 March", BILAN, "F", date(2008, 2, 29), DUE, date(2026, 3, 1), on=date(2026, 3, 1)),
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(default_rules(), campaigns=campaign_dates(default_seasons()))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_outcome(engine: Engine, case: Case) -> None:
    patient = PatientFacts(case.birth, case.sex, case.conditions)
    acts = [Act(code, day) for code, day in case.acts]
    [outcome] = [o for o in engine.evaluate(patient, acts, case.on) if o.rule.id == case.rule]
    dated = {DUE: outcome.since, OVERDUE: outcome.since, UPCOMING: outcome.when, DONE: outcome.until, NA: None}
    assert (outcome.status, dated[outcome.status]) == (case.status, case.expected)
    if case.doses is not None:
        assert outcome.doses == case.doses


def test_every_rule_is_exercised_by_the_table() -> None:
    assert {rule.id for rule in default_rules()} == {case.rule for case in CASES}


def test_a_66_year_old_without_this_season_influenza_vaccine_is_due_and_recording_it_clears_it(engine: Engine) -> None:
    patient = PatientFacts(date(1960, 10, 2), "F")
    before = {o.rule.id: o for o in engine.evaluate(patient, [], ON)}
    assert before[FLU].status is DUE and before[FLU].since == SEASON
    after = {o.rule.id: o for o in engine.evaluate(patient, [Act("grippe", ON)], ON)}
    assert after[FLU].status is DONE and after[FLU].until == date(2027, 10, 15)


def test_one_outcome_per_rule_in_the_rule_set_order(engine: Engine) -> None:
    outcomes = engine.evaluate(PatientFacts(born(40), "F"), [], ON)
    assert [o.rule.id for o in outcomes] == [rule.id for rule in default_rules()]


def test_the_same_input_always_gives_the_same_outcomes(engine: Engine) -> None:
    patient = PatientFacts(born(66), "F", frozenset({"diabete"}))
    acts = [Act("grippe", date(2025, 11, 2)), Act("mammographie", ago(1)), Act("dTP", ago(3))]
    assert engine.evaluate(patient, acts, ON) == engine.evaluate(patient, list(reversed(acts)), ON)


def test_an_unknown_sex_leaves_out_only_the_rules_that_need_one(engine: Engine) -> None:
    outcomes = {o.rule.id: o.status for o in engine.evaluate(PatientFacts(born(55), None), [], ON)}
    assert outcomes[BREAST] is NA and outcomes[COLON] is OVERDUE


def test_before_birth_nothing_applies(engine: Engine) -> None:
    outcomes = engine.evaluate(PatientFacts(ON + DAY, "F"), [], ON)
    assert {o.status for o in outcomes} == {NA}


def test_a_longer_horizon_shows_more_upcoming_acts() -> None:
    patient = PatientFacts(born(25, -400), "M")
    short = {o.rule.id: o.status for o in Engine(default_rules()).evaluate(patient, [], ON)}
    long = {o.rule.id: o for o in Engine(default_rules(), horizon_months=24).evaluate(patient, [], ON)}
    assert short[DTP] is NA and long[DTP].status is UPCOMING and long[DTP].when == ON + timedelta(days=400)


def _one(engine: Engine, rule: str, birth: date, sex: str | None, acts: Any = (), conditions: Any = (),
         on: date = ON) -> Any:
    facts = PatientFacts(birth, sex, frozenset(conditions))
    [outcome] = [o for o in engine.evaluate(facts, [Act(code, day) for code, day in acts], on) if o.rule.id == rule]
    return outcome


def test_an_hpv_second_dose_three_months_after_the_first_leaves_the_schedule_incomplete(engine: Engine) -> None:
    first, second = ago(0, 6), ago(0, 3)
    outcome = _one(engine, HPV, born(13), "F", [("HPV", first), ("HPV", second)])
    # Not complete: one more dose, at least 5 months after the one given too soon.
    assert outcome.status is UPCOMING and outcome.incomplete and outcome.too_soon == (second,)
    assert outcome.doses == (1, 2) and outcome.when == add_months(second, 5)
    # Five months apart (the least interval of the two-dose schedule): complete.
    complete = _one(engine, HPV, born(13), "F", [("HPV", ago(0, 6)), ("HPV", ago(0, 1))])
    assert complete.status is DONE and not complete.incomplete and complete.doses == (2, 2)
    # The third dose after the one given too soon completes it.
    third = _one(engine, HPV, born(14), "F", [("HPV", ago(1)), ("HPV", ago(0, 10)), ("HPV", ago(0, 1))])
    assert third.status is DONE and third.doses == (2, 2) and third.too_soon == (ago(0, 10),)


def test_shingrix_doses_19_days_apart_do_not_complete_the_series(engine: Engine) -> None:
    first = ON - timedelta(days=60)
    second = first + timedelta(days=19)
    outcome = _one(engine, ZONA, born(70), "M", [("zona-Shingrix", first), ("zona-Shingrix", second)])
    assert outcome.status is UPCOMING and outcome.too_soon == (second,) and outcome.doses == (1, 2)
    assert outcome.when == add_months(second, 2)
    assert _one(engine, ZONA, born(70), "M", [("zona-Shingrix", ago(0, 5)), ("zona-Shingrix", ago(0, 3))]).status is DONE


def test_a_colonoscopy_excludes_colorectal_screening_for_five_years(engine: Engine) -> None:
    outcome = _one(engine, COLON, born(60), "M", [("coloscopie", ago(2))])
    assert outcome.status is DONE and outcome.excluded_by == "coloscopie" and outcome.until == add_months(ago(2), 60)
    # The day the window closes, the test is due again.
    again = _one(engine, COLON, born(60), "M", [("coloscopie", ago(5))])
    assert again.status is OVERDUE and again.excluded_by is None
    assert _one(engine, COLON, born(60), "M").status is OVERDUE


def test_high_risk_people_are_out_of_the_organised_screening(engine: Engine) -> None:
    assert _one(engine, COLON, born(60), "M", conditions=["risque-eleve-cancer-colorectal"]).status is NA
    assert _one(engine, BREAST, born(60), "F", conditions=["risque-eleve-cancer-sein"]).status is NA
    assert _one(engine, BREAST, born(60), "F").status is OVERDUE


def test_the_2025_2026_influenza_campaign_runs_to_28_february_2026(engine: Engine) -> None:
    assert _one(engine, FLU, born(70), "F", on=date(2026, 2, 28)).status is DUE
    assert _one(engine, FLU, born(70), "F", on=date(2026, 3, 1)).status is UPCOMING
    # A season without a file uses the rule's default dates (15 October - 31 January).
    assert _one(engine, FLU, born(70), "F", on=date(2027, 2, 10)).status is UPCOMING
    without_files = Engine(default_rules())
    assert _one(without_files, FLU, born(70), "F", on=date(2026, 2, 28)).status is UPCOMING


def test_risk_conditions_make_the_risk_rules_fire(engine: Engine) -> None:
    """A 68-year-old with COPD gets the RSV card; a pregnant woman the influenza card."""
    assert _one(engine, RSV_RISK, born(68), "M").status is NA
    assert _one(engine, RSV_RISK, born(68), "M", conditions=["maladie-respiratoire-chronique"]).status is DUE
    assert _one(engine, FLU_RISK, born(30), "F").status is NA
    assert _one(engine, FLU_RISK, born(30), "F", conditions=["grossesse"]).status is DUE
    assert _one(engine, ZONA_IMMUNO, born(18), "M", conditions=["immunodepression"]).status is DUE
    assert _one(engine, ZONA_IMMUNO, born(18, -1), "M", conditions=["immunodepression"]).status is UPCOMING
    assert _one(engine, PNEUMO_RISK, born(40), "F", conditions=["diabete"]).status is DUE
