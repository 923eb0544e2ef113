"""Engine outcomes as CDS Hooks 2.0 cards: one card per act due or overdue, most urgent first; then
one `info` card per pregnancy rule that needs the pregnancy's term (« Terme de la grossesse inconnu :
à renseigner »), linking to where it is declared."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any
from urllib.parse import quote

from bouquet_prevention.engine import TERM_UNKNOWN, Outcome, Status
from bouquet_prevention.wording import problem_of, state_of, to_do

__all__ = ["CARD_NAMESPACE", "TOPIC_SYSTEM", "card", "cards_for", "summary_of"]

#: Card uuids are derived from the hook instance and the rule, so a repeated call gives the same ids.
CARD_NAMESPACE = uuid.UUID("7a3c1f52-5a0e-4c59-9d0e-2f8f0b6a9e11")
TOPIC_SYSTEM = "urn:bouquet:prevention:category"
SUMMARY_LIMIT = 140
_TOPICS = {"vaccination": "Vaccination", "depistage": "Dépistage", "bilan": "Bilan de prévention"}


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def summary_of(outcome: Outcome) -> str:
    """The card's one-line summary (French, under 140 characters)."""
    wording = outcome.rule.wording.summary
    state = state_of(outcome)
    state = state[:1].lower() + state[1:]
    if outcome.incomplete:
        state += ", schéma incomplet"
    if outcome.doses:
        state += f" (dose {outcome.doses[0] + 1} sur {outcome.doses[1]})"
    text = f"{wording} : {state}"
    return text if len(text) < SUMMARY_LIMIT else text[:SUMMARY_LIMIT - 2].rstrip() + "…"


def _detail(outcome: Outcome) -> str:
    rule = outcome.rule
    lines = [rule.wording.detail] if rule.wording.detail else []
    if problem := problem_of(outcome):
        lines.append(f"{problem}.")
    if outcome.last:
        lines.append(f"Dernier acte connu : {_day(outcome.last)}.")
    else:
        lines.append("Aucun acte connu de Bouquet ni transmis par le logiciel.")
    references = "; ".join(f"[{source.label}]({source.url})" if source.url else source.label for source in rule.sources)
    lines.append(f"Référence : {references} (règle {rule.id}, version {rule.version}).")
    return "\n\n".join(lines)


def card(outcome: Outcome, *, hook_instance: str, base_url: str) -> dict[str, Any]:
    """The card for one due or overdue outcome."""
    rule = outcome.rule
    return {
        "uuid": str(uuid.uuid5(CARD_NAMESPACE, f"{hook_instance}|{rule.id}|{rule.version}")),
        "summary": summary_of(outcome),
        "detail": _detail(outcome),
        "indicator": "warning" if outcome.status is Status.OVERDUE else "info",
        "source": {
            "label": rule.source.label,
            "url": rule.source.url,
            "topic": {"system": TOPIC_SYSTEM, "code": rule.category, "display": _TOPICS[rule.category]},
        },
        "links": [{
            "label": "Enregistrer l'acte dans Bouquet",
            "url": f"{base_url}/p/prevention/acts/new?rule={quote(rule.id)}",
            "type": "absolute",
        }],
    }


def cards_for(outcomes: Iterable[Outcome], *, hook_instance: str, base_url: str) -> list[dict[str, Any]]:
    """Cards for the outcomes that call for an act now: overdue first, then due, each by date; then
    those that need the pregnancy's term."""
    outcomes = list(outcomes)
    actionable = to_do(outcomes)
    cards = [card(outcome, hook_instance=hook_instance, base_url=base_url) for outcome in actionable]
    for outcome in outcomes:
        if outcome.reason == TERM_UNKNOWN:
            found = card(outcome, hook_instance=hook_instance, base_url=base_url)
            found["links"] = [{"label": "Renseigner le terme de la grossesse dans Bouquet",
                               "url": f"{base_url}/p/prevention/conditions", "type": "absolute"}]
            cards.append(found)
    return cards
