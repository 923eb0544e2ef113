"""Issue 17: maternal RSV vaccination (Abrysvo), one dose between 32 SA + 0 j and 36 SA + 6 j, from
September to January (HAS, June 2024). The engine and the wording, with the days that matter: the
day before and the day of 32 SA, 36 SA + 6 j and 37 SA; 31 August / 1 September; 31 January /
1 February; a dose of an earlier pregnancy; an unknown term; a pregnancy whose expected delivery
has passed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from bouquet_prevention.engine import MISSED, OUTSIDE_CAMPAIGN, TERM_UNKNOWN, Act, Engine, PatientFacts, Status
from bouquet_prevention.pregnancy import (
    Reported,
    day_at,
    due_from_start,
    gestational_age,
    is_current,
    resolve,
    sa,
    start_from_due,
)
from bouquet_prevention.rules import Rule
from bouquet_prevention.rulesets import default_rules
from bouquet_prevention.seasons import campaign_dates, default_seasons
from bouquet_prevention.wording import TERM_NEEDED, state_of
from pydantic import ValidationError

DAY = timedelta(days=1)
RSV = "vrs-grossesse"
BORN = date(1994, 5, 12)


def reaching_32(day: date) -> date:
    """The start of a pregnancy that reaches 32 SA + 0 j on `day`."""
    return day - timedelta(days=32 * 7 - 14)


#: A pregnancy that reaches 32 SA on 1 October 2025: its weeks 32-36 are inside the 2025-2026 campaign.
START = reaching_32(date(2025, 10, 1))


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(default_rules(), campaigns=campaign_dates(default_seasons()))


def one(engine: Engine, on: date, start: date | None = START, acts: Any = (), sex: str = "F",
        conditions: Any = ("grossesse",), rule: str = RSV) -> Any:
    facts = PatientFacts(BORN, sex, frozenset(conditions), start)
    [found] = [o for o in engine.evaluate(facts, [Act(code, d) for code, d in acts], on) if o.rule.id == rule]
    return found


def test_weeks_of_amenorrhoea_and_the_term() -> None:
    assert day_at(START, 32) == date(2025, 10, 1)
    assert gestational_age(START, date(2025, 10, 1)) == (32, 0)
    assert gestational_age(START, START) == (2, 0)  # the start of the pregnancy is 2 SA
    assert sa((33, 2)) == "33 SA + 2 j" and sa((32, 0)) == "32 SA"
    # Term 41 SA, 39 weeks after the start (a pregnancy started on 20 January 2021: 20 October 2021).
    assert due_from_start(date(2021, 1, 20)) == date(2021, 10, 20)
    assert start_from_due(date(2021, 10, 20)) == date(2021, 1, 20)
    assert gestational_age(date(2021, 1, 20), date(2021, 10, 20)) == (41, 0)


@pytest.mark.parametrize(("on", "status", "day"), [
    (day_at(START, 32) - DAY, Status.UPCOMING, day_at(START, 32)),   # 31 SA + 6 j: from 32 SA
    (day_at(START, 32), Status.DUE, day_at(START, 32)),              # 32 SA + 0 j
    (day_at(START, 36, 6), Status.DUE, day_at(START, 32)),           # 36 SA + 6 j: the last day
])
def test_due_from_32_to_36_weeks_and_6_days(engine: Engine, on: date, status: Status, day: date) -> None:
    found = one(engine, on)
    assert found.status is status and (found.when if status is Status.UPCOMING else found.since) == day
    assert found.deadline == day_at(START, 36, 6)


def test_from_37_weeks_the_window_has_passed_not_overdue(engine: Engine) -> None:
    found = one(engine, day_at(START, 37))
    assert found.status is Status.NOT_APPLICABLE and found.reason == MISSED
    assert found.gestation == (37, 0)
    assert "nirsevimab" in state_of(found) and "Non faite entre 32 et 36 SA" in state_of(found)
    assert one(engine, day_at(START, 20)).status is Status.UPCOMING  # early: upcoming, with the date
    assert one(engine, day_at(START, 20)).when == day_at(START, 32)


def test_the_campaign_starts_on_1_september() -> None:
    engine = Engine(default_rules(), campaigns=campaign_dates(default_seasons()))
    start = reaching_32(date(2025, 8, 20))  # 32 SA on 20 August 2025
    before = one(engine, date(2025, 8, 31), start)
    assert before.status is Status.UPCOMING and before.when == date(2025, 9, 1)
    assert "À partir du 01/09/2025" in state_of(before)
    first = one(engine, date(2025, 9, 1), start)
    assert first.status is Status.DUE and first.since == date(2025, 9, 1)
    assert first.deadline == day_at(start, 36, 6)


def test_the_campaign_ends_on_31_january(engine: Engine) -> None:
    start = reaching_32(date(2026, 1, 20))  # 32 SA on 20 January 2026
    last = one(engine, date(2026, 1, 31), start)
    assert last.status is Status.DUE and last.deadline == date(2026, 1, 31)
    assert state_of(last).startswith("À faire jusqu'au 31/01/2026 ; grossesse à 33 SA + 4 j")
    after = one(engine, date(2026, 2, 1), start)  # 33 SA + 5 j, but February
    assert after.status is Status.NOT_APPLICABLE and after.reason == MISSED


def test_weeks_32_to_36_outside_september_january_the_infant_s_nirsevimab(engine: Engine) -> None:
    start = reaching_32(date(2026, 3, 10))  # 32-36 SA in March-April 2026
    for on in (day_at(start, 20), day_at(start, 33)):
        found = one(engine, on, start)
        assert found.status is Status.NOT_APPLICABLE and found.reason == OUTSIDE_CAMPAIGN
        assert "hors période de vaccination (septembre à janvier)" in state_of(found)
        assert "nirsevimab" in state_of(found)


def test_a_season_without_a_file_uses_september_to_january(engine: Engine) -> None:
    start = reaching_32(date(2026, 8, 25))
    found = one(engine, date(2026, 9, 1), start)
    assert found.status is Status.DUE and found.since == date(2026, 9, 1)


def test_a_dose_during_this_pregnancy_counts_not_one_of_an_earlier_pregnancy(engine: Engine) -> None:
    on = day_at(START, 33)
    earlier = one(engine, on, acts=[("VRS", START - DAY)])  # the day before this pregnancy
    assert earlier.status is Status.DUE
    done = one(engine, on, acts=[("VRS", START)])           # from its first day
    assert done.status is Status.DONE and done.last == START
    done = one(engine, on, acts=[("VRS", day_at(START, 32, 3))])
    assert done.status is Status.DONE and state_of(done) == f"Fait le {day_at(START, 32, 3):%d/%m/%Y}, pendant cette grossesse"
    assert one(engine, on, acts=[("VRS", on + DAY)]).status is Status.DUE  # a future act is ignored


def test_an_unknown_term_says_so_and_flu_still_applies(engine: Engine) -> None:
    found = one(engine, date(2025, 11, 15), start=None)
    assert found.status is Status.UPCOMING and found.reason == TERM_UNKNOWN and found.when is None
    assert state_of(found) == TERM_NEEDED == "Terme de la grossesse inconnu : à renseigner"
    flu = one(engine, date(2025, 11, 15), start=None, rule="grippe-risque")
    assert flu.status is Status.DUE


def test_not_for_men_nor_without_a_pregnancy(engine: Engine) -> None:
    assert one(engine, day_at(START, 33), sex="M").status is Status.NOT_APPLICABLE
    assert one(engine, day_at(START, 33), conditions=()).status is Status.NOT_APPLICABLE


def test_a_pregnancy_is_over_two_weeks_after_its_expected_delivery(engine: Engine) -> None:
    due = due_from_start(START)
    assert is_current(START, due + 13 * DAY) and not is_current(START, due + 14 * DAY)
    dated = Reported.of({"grossesse"}, [START])
    assert resolve([dated], due + 13 * DAY) == (frozenset({"grossesse"}), START)
    # Over: the source's pregnancy no longer counts, for flu and COVID-19 either.
    assert resolve([dated], due + 14 * DAY) == (frozenset(), None)
    assert one(engine, due + 14 * DAY).status is Status.NOT_APPLICABLE  # the engine agrees
    flu = one(engine, date(2026, 11, 15), start=None, conditions=resolve([dated], date(2026, 11, 15))[0],
              rule="grippe-risque")
    assert flu.status is Status.NOT_APPLICABLE


def test_sources_are_resolved_in_order_of_precedence() -> None:
    on = day_at(START, 33)
    later = START + 10 * DAY
    # The first source that dates a current pregnancy gives the start; undated codes still count.
    assert resolve([Reported.of({"diabete"}), Reported.of((), [later]), Reported.of((), [START])], on) \
        == (frozenset({"diabete", "grossesse"}), later)
    # A source whose only pregnancy is over does not cancel another source's undated one.
    old = START - timedelta(days=400)
    assert resolve([Reported.of({"grossesse"}, [old]), Reported.of({"grossesse"})], on) \
        == (frozenset({"grossesse"}), None)
    # A start in the future is not a date: the pregnancy counts, its term unknown.
    assert resolve([Reported.of((), [on + DAY])], on) == (frozenset({"grossesse"}), None)


def test_a_pregnancy_schedule_is_for_pregnant_women() -> None:
    [rule] = [r for r in default_rules() if r.id == RSV]
    data = rule.model_dump(mode="json", exclude_none=True)
    with pytest.raises(ValidationError, match="any_of must be"):
        Rule.model_validate({**data, "population": {"sex": "F"}})
    with pytest.raises(ValidationError, match="to_weeks"):
        Rule.model_validate({**data, "schedule": {**data["schedule"], "to_weeks": 32}})
    with pytest.raises(ValidationError, match="campaign_start and campaign_end"):
        Rule.model_validate({**data, "schedule": {"kind": "pregnancy", "from_weeks": 32, "to_weeks": 37,
                                                  "campaign_start": "09-01"}})
