"""The FHIR Task state machine, as e-parcours applies it, with French labels.

Transitions follow the FHIR R4 Task page ("Task state machine", `task.html#statemachine`) and
the TaskStatus code system definitions:

- a task is created `draft`, `requested` (action sought, nobody has taken it yet) or `ready`
  (assignment and acceptance are a given: `ready` "is used in place of requested / received /
  accepted / rejected");
- `requested` → `received` → `accepted` or `rejected` (the potential performer decides);
- `accepted` and `ready` → `in-progress` → `completed` or `failed`;
- `in-progress` ↔ `on-hold` (on-hold: "the task has been started but work has been paused"),
  and an in-progress task may be stopped back to `ready`;
- any non-terminal state may be `cancelled`;
- `entered-in-error` ("should never have existed") may be reached from any other state;
- `rejected`, `cancelled`, `failed`, `completed` and `entered-in-error` are terminal here.

Doing a step from `ready` or `accepted` passes through `in-progress`: "Marquer comme réalisée"
records both transitions at once (`path`).
"""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    DRAFT = "draft"
    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    READY = "ready"
    CANCELLED = "cancelled"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    FAILED = "failed"
    COMPLETED = "completed"
    ENTERED_IN_ERROR = "entered-in-error"


S = TaskStatus

#: What a person reads for each status.
LABELS: dict[str, str] = {
    S.DRAFT: "Brouillon", S.REQUESTED: "À prendre en charge", S.RECEIVED: "Reçue", S.ACCEPTED: "Acceptée",
    S.REJECTED: "Refusée", S.READY: "À faire", S.CANCELLED: "Annulée", S.IN_PROGRESS: "En cours",
    S.ON_HOLD: "Suspendue", S.FAILED: "Non réalisée", S.COMPLETED: "Réalisée", S.ENTERED_IN_ERROR: "Saisie par erreur",
}
#: What a person chooses to move a task into each status: the act, in everyday words (no FHIR state names).
VERBS: dict[str, str] = {
    S.REQUESTED: "Demander à l'équipe de prendre en charge l'étape", S.RECEIVED: "J'ai pris connaissance de la demande",
    S.ACCEPTED: "Je prends en charge l'étape", S.REJECTED: "Je ne peux pas prendre en charge l'étape",
    S.READY: "Remettre l'étape à faire", S.CANCELLED: "Annuler l'étape (elle n'a plus lieu d'être)",
    S.IN_PROGRESS: "Commencer l'étape", S.ON_HOLD: "Mettre l'étape en pause",
    S.FAILED: "L'étape n'a pas pu être réalisée", S.COMPLETED: "Marquer comme réalisée",
    S.ENTERED_IN_ERROR: "Cette étape a été créée par erreur",
}

TERMINAL = frozenset({S.REJECTED, S.CANCELLED, S.FAILED, S.COMPLETED, S.ENTERED_IN_ERROR})
OPEN = frozenset(set(S) - TERMINAL)

_NEXT: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.REQUESTED, S.READY, S.CANCELLED}),
    S.REQUESTED: frozenset({S.RECEIVED, S.ACCEPTED, S.REJECTED, S.CANCELLED}),
    S.RECEIVED: frozenset({S.ACCEPTED, S.REJECTED, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.IN_PROGRESS, S.CANCELLED}),
    S.READY: frozenset({S.IN_PROGRESS, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.FAILED, S.ON_HOLD, S.READY, S.CANCELLED}),
    S.ON_HOLD: frozenset({S.IN_PROGRESS, S.CANCELLED}),
}
#: Statuses only a professional of the team may set (the clinical work itself, and its correction).
CLINICAL = frozenset({S.IN_PROGRESS, S.ON_HOLD, S.COMPLETED, S.FAILED, S.REJECTED, S.ENTERED_IN_ERROR})
# Finishing the work from a state where it has not started goes through in-progress.
_THROUGH_IN_PROGRESS = frozenset({S.COMPLETED, S.FAILED})


class TransitionRefused(ValueError):
    """FHIR does not allow this change; `message` says why, in French."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def allowed_next(current: str) -> frozenset[str]:
    """The statuses reachable in one transition from `current`."""
    if current == S.ENTERED_IN_ERROR:
        return frozenset()
    return _NEXT.get(current, frozenset()) | {S.ENTERED_IN_ERROR}


def path(current: str, target: str) -> list[str]:
    """The statuses a task goes through from `current` to `target` (target last).

    One step when FHIR allows it directly; `in-progress` then `target` when finishing work that
    had not started. Raises TransitionRefused (with the reason, in French) otherwise.
    """
    if target not in LABELS:
        raise TransitionRefused(f"« {target} » n'est pas un état de tâche FHIR.")
    if target in allowed_next(current):
        return [target]
    if target in _THROUGH_IN_PROGRESS and S.IN_PROGRESS in allowed_next(current):
        return [S.IN_PROGRESS, target]
    raise TransitionRefused(_why(current, target))


def _why(current: str, target: str) -> str:
    head = f"Impossible de passer la tâche de l'état « {LABELS.get(current, current)} » à l'état « {LABELS[target]} »"
    if current == target:
        return f"La tâche est déjà dans l'état « {LABELS[target]} »."
    if current in TERMINAL:
        return f"{head} : une tâche {LABELS[current].lower()} est close, son état ne peut plus changer."
    if current in (S.REQUESTED, S.RECEIVED) and target in (S.IN_PROGRESS, S.COMPLETED, S.FAILED):
        return f"{head} : elle doit d'abord être acceptée par la personne qui la réalisera."
    if target == S.ON_HOLD:
        return f"{head} : seule une tâche commencée peut être suspendue."
    choices = ", ".join(f"« {LABELS[s]} »" for s in sorted(allowed_next(current), key=list(LABELS).index))
    return f"{head}. Depuis cet état, les changements possibles sont : {choices}."


def is_overdue(status: str, latest_on: object, today: object) -> bool:
    """Whether an open task's tolerance date has passed."""
    return status in OPEN and latest_on < today  # type: ignore[operator]
