"""The review workflow as data: every state, every allowed transition, who may make it, whether a reason is due.

A solution follows one track:

    draft → submitted → under_review → referenced | changes_requested | rejected
    changes_requested → submitted          (the vendor fixed what was asked)
    referenced → suspended → referenced | withdrawn

A referenced (or suspended) solution's *change* follows the same first steps on its own track
(`change_status`): draft → submitted → under_review → approved | changes_requested | rejected.
The published version keeps showing until the change is approved.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    CHANGES_REQUESTED = "changes_requested"
    REJECTED = "rejected"
    REFERENCED = "referenced"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


LABELS: dict[str, str] = {
    Status.DRAFT: "Brouillon",
    Status.SUBMITTED: "Soumise",
    Status.UNDER_REVIEW: "En cours d'instruction",
    Status.CHANGES_REQUESTED: "Modifications demandées",
    Status.REJECTED: "Refusée",
    Status.REFERENCED: "Référencée",
    Status.SUSPENDED: "Suspendue",
    Status.WITHDRAWN: "Retirée",
}
BADGES: dict[str, str] = {
    Status.DRAFT: "", Status.SUBMITTED: "fr-badge--info", Status.UNDER_REVIEW: "fr-badge--info",
    Status.CHANGES_REQUESTED: "fr-badge--warning", Status.REJECTED: "fr-badge--error",
    Status.REFERENCED: "fr-badge--success", Status.SUSPENDED: "fr-badge--warning", Status.WITHDRAWN: "fr-badge--error",
}

VENDOR, OPERATOR = "vendor", "operator"
SOLUTION, CHANGE = "solution", "change"


@dataclass(frozen=True)
class Transition:
    """One allowed move: its name, from which states, to which, who may make it, on which track."""

    name: str
    label: str
    sources: frozenset[str]
    target: str
    who: frozenset[str]
    tracks: frozenset[str]
    reason_required: bool = False


def _t(name: str, label: str, sources: set[str], target: str, who: set[str], tracks: set[str],
       reason_required: bool = False) -> Transition:
    return Transition(name, label, frozenset(sources), target, frozenset(who), frozenset(tracks), reason_required)


BOTH = {SOLUTION, CHANGE}
TRANSITIONS: tuple[Transition, ...] = (
    _t("submit", "Soumettre au référencement", {Status.DRAFT, Status.CHANGES_REQUESTED}, Status.SUBMITTED, {VENDOR}, BOTH),
    _t("start_review", "Prendre en charge l'instruction", {Status.SUBMITTED}, Status.UNDER_REVIEW, {OPERATOR}, BOTH),
    _t("approve", "Référencer", {Status.UNDER_REVIEW}, Status.REFERENCED, {OPERATOR}, BOTH),
    _t("request_changes", "Demander des modifications", {Status.UNDER_REVIEW}, Status.CHANGES_REQUESTED, {OPERATOR}, BOTH,
       reason_required=True),
    _t("reject", "Refuser", {Status.UNDER_REVIEW}, Status.REJECTED, {OPERATOR}, BOTH, reason_required=True),
    _t("suspend", "Suspendre", {Status.REFERENCED}, Status.SUSPENDED, {OPERATOR}, {SOLUTION}, reason_required=True),
    _t("reinstate", "Rétablir le référencement", {Status.SUSPENDED}, Status.REFERENCED, {OPERATOR}, {SOLUTION}),
    _t("withdraw", "Retirer du catalogue", {Status.SUSPENDED}, Status.WITHDRAWN, {OPERATOR, VENDOR}, {SOLUTION},
       reason_required=True),
)
BY_NAME = {transition.name: transition for transition in TRANSITIONS}

# Where the vendor may still edit the content (on its track); elsewhere a change is refused.
EDITABLE = frozenset({Status.DRAFT, Status.CHANGES_REQUESTED})


class TransitionRefused(Exception):
    """The move is refused: not from this state (`status` 409), not by this person (403), no reason given (400)."""

    def __init__(self, message: str, *, status: int = 409) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def check(name: str, current: str, who: str, track: str, reason: str | None) -> Transition:
    """The transition `name` if `who` may make it from `current` on `track`; raises TransitionRefused otherwise."""
    transition = BY_NAME.get(name)
    if transition is None or track not in transition.tracks:
        raise TransitionRefused("Cette action n'existe pas.")
    if who not in transition.who:
        raise TransitionRefused("Seul l'opérateur du catalogue peut faire avancer l'instruction." if OPERATOR in transition.who
                                else "Seul l'éditeur de la solution peut faire cette action.", status=403)
    if current not in transition.sources:
        raise TransitionRefused(f"Action « {transition.label} » impossible : la demande est à l'état "
                                f"« {LABELS.get(current, current)} ».")
    if transition.reason_required and not (reason or "").strip():
        raise TransitionRefused(f"Motif : indiquez le motif pour « {transition.label} ».", status=400)
    return transition


def available(current: str | None, who: str, track: str) -> list[Transition]:
    """The transitions `who` may make from `current` on `track` (for the buttons a page shows)."""
    if current is None:
        return []
    return [t for t in TRANSITIONS if current in t.sources and who in t.who and track in t.tracks]
