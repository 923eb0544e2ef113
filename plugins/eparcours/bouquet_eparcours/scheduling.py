"""When tasks fall due: the first occurrences at inclusion, then what completing one schedules.

A step starting `after: inclusion` is due `offset` after the plan's reference date. A step
starting after another step is due `offset` after the day that step's first occurrence was
done. A recurring step's next occurrence is due `every` after the day the previous one was
done. A task is overdue once its due date plus the step's `window` has passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from bouquet_eparcours.definitions import INCLUSION, PathwayDefinition, StepDefinition
from bouquet_eparcours.statuses import TaskStatus


@dataclass(frozen=True)
class PlannedTask:
    """A task about to be created."""

    step: StepDefinition
    occurrence: int
    due_on: date
    latest_on: date
    owner_id: int | None

    @property
    def status(self) -> str:
        # With a named owner the assignment is a given (FHIR "ready"); without, action is sought.
        return TaskStatus.READY if self.owner_id is not None else TaskStatus.REQUESTED


def planned(step: StepDefinition, occurrence: int, due_on: date, owner_id: int | None) -> PlannedTask:
    """The task for `step` due on `due_on`, with its tolerance date."""
    latest_on = step.window.after(due_on) if step.window is not None else due_on
    return PlannedTask(step, occurrence, due_on, latest_on, owner_id)


def at_inclusion(definition: PathwayDefinition, reference_date: date,
                 owners: Mapping[str, int | None]) -> list[PlannedTask]:
    """The tasks a new plan starts with: one per step starting from the reference date.

    `owners` maps a role id to the account holding it (or None: the task waits for someone).
    """
    return [planned(step, 1, step.start.offset.after(reference_date), owners.get(step.role))
            for step in definition.steps if step.start.after == INCLUSION]


def after_completion(definition: PathwayDefinition, step_id: str, occurrence: int, performed_on: date,
                     owners: Mapping[str, int | None], first_done: bool) -> list[PlannedTask]:
    """What doing occurrence `occurrence` of `step_id` on `performed_on` schedules.

    The step's next occurrence (if it recurs and its `count` is not reached) and, when this is
    the first time the step is done (`first_done`), the first occurrence of every step that
    starts after it.
    """
    step = definition.step(step_id)
    if step is None:  # the plan's definition no longer has this step: nothing to schedule
        return []
    follow: list[PlannedTask] = []
    recurrence = step.recurrence
    if recurrence is not None and (recurrence.count is None or occurrence < recurrence.count):
        follow.append(planned(step, occurrence + 1, recurrence.every.after(performed_on), owners.get(step.role)))
    if first_done:
        follow += [planned(other, 1, other.start.offset.after(performed_on), owners.get(other.role))
                   for other in definition.steps if other.start.after == step_id]
    return follow
