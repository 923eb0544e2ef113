"""Where a rule stands, in the French a professional reads: one wording for the patient page, its
alerts, CDS Hooks cards, « Prévention — mes patients » and the command line.

An act never done is « jamais réalisé », never « en retard depuis » the day the patient entered
the population decades ago; a series with a dose given too soon says « schéma incomplet »; a
rule suspended by another act (a colonoscopy) says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from bouquet_prevention.dates import month_day
from bouquet_prevention.engine import MISSED, OUTSIDE_CAMPAIGN, TERM_UNKNOWN, Outcome, Status
from bouquet_prevention.pregnancy import sa
from bouquet_prevention.rules import DuringPregnancy, Seasonal

__all__ = ["TERM_NEEDED", "act_label", "day", "never_done", "noted", "problem_of", "state_of", "to_do"]

#: What a pregnancy rule says when the pregnancy's term is not known.
TERM_NEEDED = "Terme de la grossesse inconnu : à renseigner"
_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre")

_EXCLUDED_BY = {"coloscopie": "coloscopie"}


def day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def never_done(outcome: Outcome) -> bool:
    """Actionable and no act of the rule is known at all (a campaign's date, not an age's, stays shown)."""
    return outcome.actionable and outcome.last is None and not isinstance(outcome.rule.schedule,
                                                                           Seasonal | DuringPregnancy)


def noted(outcome: Outcome) -> bool:
    """A rule that no longer applies to this pregnancy and says why (shown for information)."""
    return outcome.status is Status.NOT_APPLICABLE and outcome.reason is not None


def _pregnancy_state(outcome: Outcome, s: DuringPregnancy) -> str | None:
    weeks = f"{s.from_weeks} et {s.to_weeks - 1} SA"
    season = (f" ({_MONTHS[month_day(s.campaign_start)[0] - 1]} à {_MONTHS[month_day(s.campaign_end)[0] - 1]})"
              if s.campaign_start and s.campaign_end else "")
    now = f" ; grossesse à {sa(outcome.gestation)} ce jour" if outcome.gestation else ""
    if outcome.reason == TERM_UNKNOWN:
        return TERM_NEEDED
    if outcome.reason == OUTSIDE_CAMPAIGN:
        return (f"Non proposée pour cette grossesse : entre {weeks} hors période de vaccination{season}{now} — "
                "protection du nourrisson par nirsevimab")
    if outcome.reason == MISSED:
        return (f"Non faite entre {weeks} pendant la période de vaccination{season}{now} — "
                "protection du nourrisson par nirsevimab")
    if outcome.status is Status.DONE and outcome.last:
        return f"Fait le {day(outcome.last)}, pendant cette grossesse"
    if outcome.status is Status.DUE and outcome.deadline:
        return f"À faire jusqu'au {day(outcome.deadline)}{now}"
    if outcome.status is Status.UPCOMING and outcome.when:
        return f"À partir du {day(outcome.when)}, jusqu'au {day(outcome.deadline)}{now}" if outcome.deadline \
            else f"À partir du {day(outcome.when)}{now}"
    return None


def problem_of(outcome: Outcome) -> str | None:
    """What is wrong with the acts known, if anything: « schéma incomplet » and why, and what is due."""
    problems = []
    if outcome.too_soon:
        doses = ", ".join(day(d) for d in outcome.too_soon)
        plural = "s" if len(outcome.too_soon) > 1 else ""
        problems.append(f"Schéma incomplet : dose{plural} du {doses} trop rapprochée{plural} de la précédente, "
                        f"non comptée{plural}")
    if outcome.lapsed is not None and outcome.last is not None:
        given = outcome.doses[0] if outcome.doses else 1
        problems.append(f"Schéma incomplet : {given + 1}e dose à faire dès que possible — le délai maximal de "
                        f"{outcome.max_months} mois après la dose du {day(outcome.last)} a pris fin le "
                        f"{day(outcome.lapsed)}")
    if outcome.late:
        doses = ", ".join(day(d) for d in outcome.late)
        plural = "s" if len(outcome.late) > 1 else ""
        problems.append(f"Dose{plural} du {doses} donnée{plural} plus de {outcome.max_months} mois après la "
                        f"précédente (comptée{plural}, le schéma n'est pas recommencé)")
    return " · ".join(problems) or None


def state_of(outcome: Outcome) -> str:
    """The status in French, with its date (« Jamais réalisé », « En retard depuis le … »…)."""
    if isinstance(outcome.rule.schedule, DuringPregnancy) and (
            said := _pregnancy_state(outcome, outcome.rule.schedule)) is not None:
        return said
    if outcome.actionable:
        if never_done(outcome):
            return "Jamais réalisé — en retard" if outcome.status is Status.OVERDUE else "Jamais réalisé — à faire"
        if outcome.status is Status.OVERDUE:
            return f"En retard depuis le {day(outcome.since)}" if outcome.since else "En retard"
        return f"À faire depuis le {day(outcome.since)}" if outcome.since else "À faire"
    if outcome.status is Status.UPCOMING:
        return f"À partir du {day(outcome.when)}" if outcome.when else "À venir"
    if outcome.excluded_by is not None and outcome.last is not None:
        until = f" jusqu'au {day(outcome.until)}" if outcome.until else ""
        return f"Non concerné{until} ({act_label(outcome.excluded_by)} le {day(outcome.last)})"
    return f"À jour jusqu'au {day(outcome.until)}" if outcome.until else "Fait"


def act_label(code: str) -> str:
    return _EXCLUDED_BY.get(code, code)


def to_do(outcomes: Iterable[Outcome]) -> list[Outcome]:
    """What to do now, most actionable first: recalls overdue (an act was done, the next is late),
    then acts never done that are overdue, then what is due; each by date, ties in rule order."""
    return sorted((o for o in outcomes if o.actionable),
                  key=lambda o: (o.status is not Status.OVERDUE, never_done(o), o.since or date.min))
