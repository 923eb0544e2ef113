"""Issue 17: the longest interval of a series (Shingrix: the second dose 2 to 6 months after the first,
SmPC section 4.2). Within 6 months the second dose is due; from the day after, « schéma incomplet »,
the second dose overdue, and the wording says what is due; a dose given later counts, said as late."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import yaml
from bouquet_prevention.dates import add_months
from bouquet_prevention.engine import Act, Engine, PatientFacts, Status
from bouquet_prevention.errors import RuleFileError
from bouquet_prevention.catalogue import default_catalogue
from bouquet_prevention.rulesets import default_rules, load_rule_file
from bouquet_prevention.wording import problem_of, state_of

DAY = timedelta(days=1)
FIRST = date(2026, 1, 5)
LAST_DAY = date(2026, 7, 5)          # 6 months after the first dose: the last day the second may come
BORN_70 = date(1956, 3, 1)
BORN_40 = date(1986, 3, 1)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(default_rules())


def outcome(engine: Engine, rule: str, birth: date, acts: list[date], on: date, conditions: Any = ()) -> Any:
    facts = PatientFacts(birth, "F", frozenset(conditions))
    [found] = [o for o in engine.evaluate(facts, [Act("zona-Shingrix", d) for d in acts], on) if o.rule.id == rule]
    return found


@pytest.mark.parametrize(("rule", "birth", "conditions"), [("zona-65-ans", BORN_70, ()),
                                                           ("zona-immunodepression", BORN_40, ("immunodepression",))])
def test_the_second_dose_is_due_until_six_months_then_overdue_and_incomplete(
        engine: Engine, rule: str, birth: date, conditions: Any) -> None:
    on_last_day = outcome(engine, rule, birth, [FIRST], LAST_DAY, conditions)
    assert on_last_day.status is Status.DUE and not on_last_day.incomplete and on_last_day.lapsed is None
    day_after = outcome(engine, rule, birth, [FIRST], LAST_DAY + DAY, conditions)
    assert day_after.status is Status.OVERDUE and day_after.since == LAST_DAY + DAY
    assert day_after.incomplete and day_after.lapsed == LAST_DAY and day_after.doses == (1, 2)
    assert problem_of(day_after) == ("Schéma incomplet : 2e dose à faire dès que possible — le délai maximal de "
                                     "6 mois après la dose du 05/01/2026 a pris fin le 05/07/2026")
    assert state_of(day_after) == "En retard depuis le 06/07/2026"


def test_a_second_dose_within_the_interval_completes_the_series(engine: Engine) -> None:
    for second in (add_months(FIRST, 2), LAST_DAY):  # 2 months (the least) and 6 months (the longest), both ends
        done = outcome(engine, "zona-65-ans", BORN_70, [FIRST, second], date(2026, 11, 28))
        assert done.status is Status.DONE and not done.late and problem_of(done) is None


def test_a_second_dose_after_six_months_counts_and_is_said_late(engine: Engine) -> None:
    late = outcome(engine, "zona-65-ans", BORN_70, [FIRST, LAST_DAY + DAY], date(2026, 11, 28))
    assert late.status is Status.DONE and late.doses == (2, 2) and late.late == (LAST_DAY + DAY,)
    assert not late.incomplete
    assert problem_of(late) == ("Dose du 06/07/2026 donnée plus de 6 mois après la précédente "
                                "(comptée, le schéma n'est pas recommencé)")


def test_too_soon_then_lapsed_says_both(engine: Engine) -> None:
    """A second dose 19 days after the first does not count; six months after the first, still none."""
    found = outcome(engine, "zona-65-ans", BORN_70, [FIRST, FIRST + 19 * DAY], LAST_DAY + DAY)
    assert found.status is Status.OVERDUE and found.too_soon == (FIRST + 19 * DAY,) and found.lapsed == LAST_DAY
    problem = problem_of(found)
    assert problem is not None and "trop rapprochée" in problem and "a pris fin le 05/07/2026" in problem


def test_the_immunocompromised_may_have_the_second_dose_from_one_month(engine: Engine) -> None:
    early = outcome(engine, "zona-immunodepression", BORN_40, [FIRST, add_months(FIRST, 1)], date(2026, 11, 28),
                    ("immunodepression",))
    assert early.status is Status.DONE and not early.incomplete
    # A day short of a month: it does not count, and the next may not come before a month after it.
    too_early_dose = add_months(FIRST, 1) - DAY
    for on, status in ((add_months(too_early_dose, 1) - DAY, Status.UPCOMING), (add_months(too_early_dose, 1), Status.DUE)):
        too_early = outcome(engine, "zona-immunodepression", BORN_40, [FIRST, too_early_dose], on, ("immunodepression",))
        assert too_early.status is status and too_early.too_soon == (too_early_dose,)


def test_a_longest_interval_shorter_than_the_least_is_refused(tmp_path: Any) -> None:
    data = {"rules": [{
        "id": "zona-test", "version": "2026.1", "title": "Zona", "category": "vaccination",
        "population": {"age": {"min": 65}},
        "schedule": {"kind": "once", "doses": 2, "dose_intervals_months": [2], "min_dose_intervals_months": [2],
                     "max_dose_intervals_months": [1]},
        "satisfied_by": ["zona-Shingrix"], "wording": {"summary": "Zona"},
        "sources": [{"title": "t", "publisher": "p", "year": 2025, "url": "https://example.org"}],
        "verified": "Test data."}]}
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(RuleFileError) as refused:
        load_rule_file(path, default_catalogue())
    assert "max_dose_intervals_months" in str(refused.value)
