"""Issue 17, the rules added in 2026.1: the DTCaPolio booster at 6, the least interval after the last
COVID-19 dose (6 months in autumn, 3 in spring), the influenza and COVID-19 risk groups that had no
condition code (kidney, liver, severe neurological or muscular disease), and influenza for children
at risk. Edge days: the day before and the day of each date that matters."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from bouquet_prevention.conditions import CONDITION_SYSTEM, default_condition_codes
from bouquet_prevention.dates import add_months, add_years
from bouquet_prevention.engine import Act, Engine, PatientFacts, Status
from bouquet_prevention.rulesets import default_rules
from bouquet_prevention.seasons import campaign_dates, default_seasons

DAY = timedelta(days=1)
ON = date(2026, 11, 28)  # in the 2026-2027 autumn campaign (from 15 October)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(default_rules(), campaigns=campaign_dates(default_seasons()))


def one(engine: Engine, rule: str, birth: date, on: date = ON, acts: Any = (), conditions: Any = (),
        sex: str = "F") -> Any:
    facts = PatientFacts(birth, sex, frozenset(conditions))
    [found] = [o for o in engine.evaluate(facts, [Act(code, day) for code, day in acts], on) if o.rule.id == rule]
    return found


# --- DTCaPolio at 6 -------------------------------------------------------------------------------

SIX = "rappel-dtcapolio-6-ans"
BORN = date(2020, 3, 1)


@pytest.mark.parametrize(("on", "status", "day"), [
    (add_years(BORN, 6) - DAY, Status.UPCOMING, add_years(BORN, 6)),   # the day before the 6th birthday
    (add_years(BORN, 6), Status.DUE, add_years(BORN, 6)),              # the day of
    (add_years(BORN, 7) - DAY, Status.DUE, add_years(BORN, 6)),        # the last day before overdue
    (add_years(BORN, 7), Status.OVERDUE, add_years(BORN, 7)),          # from the 7th birthday
    (add_years(BORN, 11) - DAY, Status.OVERDUE, add_years(BORN, 7)),   # still this rule the day before 11
])
def test_the_6_year_booster_by_age(engine: Engine, on: date, status: Status, day: date) -> None:
    found = one(engine, SIX, BORN, on)
    assert found.status is status and (found.when if status is Status.UPCOMING else found.since) == day


def test_at_11_the_adolescent_booster_takes_over(engine: Engine) -> None:
    eleven = add_years(BORN, 11)
    assert one(engine, SIX, BORN, eleven).status is Status.NOT_APPLICABLE
    assert one(engine, "rappel-dtcapolio-11-13", BORN, eleven).status is Status.DUE


def test_a_booster_from_the_6th_birthday_counts_not_the_day_before(engine: Engine) -> None:
    six = add_years(BORN, 6)
    on = add_years(BORN, 8)
    assert one(engine, SIX, BORN, on, [("dTcaP", six)]).status is Status.DONE
    assert one(engine, SIX, BORN, on, [("dTP", six)]).status is Status.DONE          # a dTPolio too
    assert one(engine, SIX, BORN, on, [("dTcaP", six - DAY)]).status is Status.OVERDUE


# --- the least interval after the last COVID-19 dose ----------------------------------------------

AUTUMN, SPRING = "covid-automne-65-ans", "covid-printemps-80-ans"


def test_autumn_is_upcoming_until_6_months_after_the_last_dose(engine: Engine) -> None:
    born = date(1950, 1, 1)
    spring_dose = date(2026, 6, 1)                  # a spring dose: the autumn dose waits 6 months
    earliest = add_months(spring_dose, 6)           # 1 December 2026, within the campaign
    before = one(engine, AUTUMN, born, earliest - DAY, [("COVID-19", spring_dose)])
    assert (before.status, before.when) == (Status.UPCOMING, earliest)
    on_the_day = one(engine, AUTUMN, born, earliest, [("COVID-19", spring_dose)])
    assert (on_the_day.status, on_the_day.since) == (Status.DUE, earliest)
    # A dose long ago changes nothing: due from the campaign's first day.
    old = one(engine, AUTUMN, born, ON, [("COVID-19", date(2025, 11, 2))])
    assert old.status is Status.DUE and old.since < ON


def test_autumn_after_a_late_dose_waits_for_the_next_campaign(engine: Engine) -> None:
    # A dose on 20 August (before this season began on 1 September): 6 months later is 20 February 2027,
    # after the campaign closes (31 January): nothing is due this season, the next campaign is shown.
    found = one(engine, AUTUMN, date(1950, 1, 1), ON, [("COVID-19", date(2026, 8, 20))])
    assert found.status is Status.UPCOMING and found.when == date(2027, 10, 15)


def test_spring_waits_3_months_after_the_autumn_dose(engine: Engine) -> None:
    born = date(1940, 1, 1)
    autumn_dose = date(2027, 2, 1)
    earliest = add_months(autumn_dose, 3)           # 1 May 2027, in the spring campaign (14 April - 14 June)
    before = one(engine, SPRING, born, earliest - DAY, [("COVID-19", autumn_dose)])
    assert (before.status, before.when) == (Status.UPCOMING, earliest)
    assert one(engine, SPRING, born, earliest, [("COVID-19", autumn_dose)]).status is Status.DUE


# --- risk groups that had no code -----------------------------------------------------------------

NEW_GROUPS = ["insuffisance-renale-chronique", "syndrome-nephrotique", "hepatopathie-chronique",
              "maladie-neuromusculaire-ou-neurologique"]


@pytest.mark.parametrize("condition", NEW_GROUPS)
def test_each_new_risk_group_brings_influenza_and_covid_before_65(engine: Engine, condition: str) -> None:
    born = date(1980, 5, 5)
    assert one(engine, "grippe-risque", born, conditions=[condition]).status is Status.DUE
    assert one(engine, "covid-automne-risque", born, conditions=[condition]).status is Status.DUE
    assert one(engine, "grippe-risque", born).status is Status.NOT_APPLICABLE


@pytest.mark.parametrize(("system", "code", "condition"), [
    ("http://hl7.org/fhir/sid/icd-10", "N18.5", "insuffisance-renale-chronique"),
    ("http://hl7.org/fhir/sid/icd-10", "Z99.2", "insuffisance-renale-chronique"),
    ("http://hl7.org/fhir/sid/icd-10", "N04.1", "syndrome-nephrotique"),
    ("http://hl7.org/fhir/sid/icd-10", "K74.6", "hepatopathie-chronique"),
    ("http://hl7.org/fhir/sid/icd-10", "G35", "maladie-neuromusculaire-ou-neurologique"),
    ("http://hl7.org/fhir/sid/icd-10", "G30.1", "maladie-neuromusculaire-ou-neurologique"),
    (CONDITION_SYSTEM, "hepatopathie-chronique", "hepatopathie-chronique"),
])
def test_the_new_groups_are_read_from_a_problem_list(system: str, code: str, condition: str) -> None:
    assert default_condition_codes().condition_for(system, code) == condition


# --- influenza for children 2-17 at risk -----------------------------------------------------------

@pytest.mark.parametrize(("birth", "status"), [
    (add_years(ON, -2), Status.DUE),                 # 2 today
    (add_years(ON, -18) + DAY, Status.DUE),          # 17, the day before 18
    (add_months(ON, -6) + DAY, Status.UPCOMING),     # 6 months tomorrow: from tomorrow
    (add_months(ON, -6), Status.DUE),                # 6 months today
])
def test_children_at_risk_get_the_influenza_vaccine(engine: Engine, birth: date, status: Status) -> None:
    found = one(engine, "grippe-risque", birth, conditions=["maladie-respiratoire-chronique"])
    assert found.status is status
    if status is Status.UPCOMING:
        assert found.when == ON + DAY
    assert one(engine, "grippe-risque", birth).status is Status.NOT_APPLICABLE  # no risk factor: not concerned
