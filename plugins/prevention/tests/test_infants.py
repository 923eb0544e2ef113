"""The infants' mandatory vaccinations: a rule set the operator enables (BOUQUET_PREVENTION_RULE_SETS)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from bouquet_prevention.dates import add_months
from bouquet_prevention.engine import Act, Engine, PatientFacts, Status
from bouquet_prevention.errors import RuleFileError
from bouquet_prevention.rulesets import default_rules, with_rule_sets
from bouquet_prevention.testing import ON

DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(with_rule_sets(("nourrissons",)))


def months_old(months: int, days: int = 0) -> date:
    """Born so as to be `months` months old on ON, plus `days` days (negative: not yet)."""
    return add_months(ON, -months) - timedelta(days=days)


def one(engine: Engine, rule: str, birth: date, acts: Any = ()) -> Any:
    facts = PatientFacts(birth, "F")
    [outcome] = [o for o in engine.evaluate(facts, [Act(c, d) for c, d in acts], ON) if o.rule.id == rule]
    return outcome


def test_the_rule_set_is_off_unless_the_operator_enables_it() -> None:
    assert not any(rule.id.startswith("nourrisson-") for rule in default_rules())
    assert {r.id for r in with_rule_sets(("nourrissons",))} >= {
        "nourrisson-dtcap-hib-hepb", "nourrisson-pneumocoque", "nourrisson-meningocoque-b", "nourrisson-meningocoque-acwy"}
    with pytest.raises(RuleFileError, match="unknown rule set"):
        with_rule_sets(("adolescents",))


def test_enabled_rule_sets_reach_the_patient_page(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from bouquet_prevention.hooks import rules_for

    monkeypatch.setenv("BOUQUET_PREVENTION_RULE_SETS", "nourrissons")
    app = make_app(plugins="prevention")
    assert rules_for(app.state.plugins).get("nourrisson-meningocoque-b") is not None


@pytest.mark.parametrize(("rule", "age_months", "status", "day"), [
    ("nourrisson-dtcap-hib-hepb", 2, Status.DUE, lambda b: add_months(b, 2)),
    ("nourrisson-meningocoque-b", 3, Status.DUE, lambda b: add_months(b, 3)),
    ("nourrisson-meningocoque-acwy", 6, Status.DUE, lambda b: add_months(b, 6)),
])
def test_first_dose_due_on_the_day_of_the_age_not_the_day_before(engine: Engine, rule: str, age_months: int,
                                                                 status: Status, day: Any) -> None:
    birth = months_old(age_months)
    due = one(engine, rule, birth)
    assert (due.status, due.since) == (status, day(birth))
    tomorrow = one(engine, rule, birth + DAY)
    assert (tomorrow.status, tomorrow.when) == (Status.UPCOMING, day(birth + DAY))


def test_the_menb_booster_needs_six_months_after_the_second_dose(engine: Engine) -> None:
    birth = months_old(13)
    doses = [("meningocoque-B", add_months(birth, 3)), ("meningocoque-B", add_months(birth, 5))]
    booster_too_soon = add_months(birth, 5) + timedelta(days=100)
    outcome = one(engine, "nourrisson-meningocoque-b", birth, [*doses, ("meningocoque-B", booster_too_soon)])
    # Not counted: the booster is due again 6 months after the one given too soon.
    assert outcome.status is Status.UPCOMING and outcome.too_soon == (booster_too_soon,)
    assert outcome.when == add_months(booster_too_soon, 6) and outcome.doses == (2, 3)
    on_time = one(engine, "nourrisson-meningocoque-b", birth, [*doses, ("meningocoque-B", add_months(birth, 12))])
    assert on_time.status is Status.DONE and on_time.doses == (3, 3)


def test_acwy_caught_up_after_12_months_needs_one_dose(engine: Engine) -> None:
    birth = months_old(18)
    assert one(engine, "nourrisson-meningocoque-acwy", birth).status is Status.OVERDUE
    assert one(engine, "nourrisson-meningocoque-acwy", birth,
               [("meningocoque-ACWY", add_months(birth, 14))]).status is Status.DONE
    assert one(engine, "nourrisson-meningocoque-acwy", months_old(24)).status is Status.NOT_APPLICABLE


def test_an_infant_pcv20_counts(engine: Engine) -> None:
    birth = months_old(12)
    doses = [("pneumocoque-VPC20", add_months(birth, 2)), ("pneumocoque-conjugue", add_months(birth, 4)),
             ("pneumocoque-VPC20", add_months(birth, 11))]
    assert one(engine, "nourrisson-pneumocoque", birth, doses).status is Status.DONE
