"""The FHIR Task state machine as e-parcours applies it."""

from __future__ import annotations

from datetime import date

import pytest
from bouquet_eparcours.statuses import (
    CLINICAL,
    LABELS,
    OPEN,
    TERMINAL,
    TaskStatus,
    TransitionRefused,
    allowed_next,
    is_overdue,
    path,
)

S = TaskStatus


def test_every_fhir_status_has_a_french_label_and_is_open_or_closed():
    assert set(LABELS) == {s.value for s in S} and len(S) == 12
    assert OPEN | TERMINAL == set(S) and not OPEN & TERMINAL


@pytest.mark.parametrize(("current", "target"), [
    (S.DRAFT, S.REQUESTED), (S.DRAFT, S.READY), (S.REQUESTED, S.RECEIVED), (S.REQUESTED, S.ACCEPTED),
    (S.REQUESTED, S.REJECTED), (S.RECEIVED, S.ACCEPTED), (S.RECEIVED, S.REJECTED), (S.ACCEPTED, S.IN_PROGRESS),
    (S.READY, S.IN_PROGRESS), (S.IN_PROGRESS, S.COMPLETED), (S.IN_PROGRESS, S.FAILED), (S.IN_PROGRESS, S.ON_HOLD),
    (S.ON_HOLD, S.IN_PROGRESS), (S.IN_PROGRESS, S.READY), (S.READY, S.CANCELLED), (S.ON_HOLD, S.CANCELLED),
    (S.COMPLETED, S.ENTERED_IN_ERROR), (S.DRAFT, S.ENTERED_IN_ERROR),
])
def test_allowed_transitions(current, target):
    assert path(current, target) == [target]


def test_finishing_work_not_yet_started_goes_through_in_progress():
    assert path(S.READY, S.COMPLETED) == [S.IN_PROGRESS, S.COMPLETED]
    assert path(S.ACCEPTED, S.FAILED) == [S.IN_PROGRESS, S.FAILED]


@pytest.mark.parametrize(("current", "target", "reason"), [
    (S.REQUESTED, S.COMPLETED, "doit d'abord être acceptée"),
    (S.RECEIVED, S.IN_PROGRESS, "doit d'abord être acceptée"),
    (S.READY, S.ON_HOLD, "seule une tâche commencée peut être suspendue"),
    (S.COMPLETED, S.IN_PROGRESS, "une tâche réalisée est close"),
    (S.CANCELLED, S.READY, "une tâche annulée est close"),
    (S.ENTERED_IN_ERROR, S.CANCELLED, "une tâche saisie par erreur est close"),
    (S.READY, S.READY, "déjà dans l'état « À faire »"),
    (S.ACCEPTED, S.REQUESTED, "les changements possibles sont : « Annulée », « En cours », « Saisie par erreur »"),
    (S.READY, "done", "n'est pas un état de tâche FHIR"),
])
def test_refused_transitions_say_why_in_french(current, target, reason):
    with pytest.raises(TransitionRefused, match=reason):
        path(current, target)


def test_closed_tasks_go_nowhere_but_entered_in_error():
    for status in TERMINAL - {S.ENTERED_IN_ERROR}:
        assert allowed_next(status) == {S.ENTERED_IN_ERROR}
    assert allowed_next(S.ENTERED_IN_ERROR) == set()


def test_clinical_statuses_are_the_work_itself():
    assert CLINICAL == {S.IN_PROGRESS, S.ON_HOLD, S.COMPLETED, S.FAILED, S.REJECTED, S.ENTERED_IN_ERROR}


def test_overdue_means_open_and_past_its_tolerance():
    assert is_overdue(S.READY, date(2026, 3, 1), date(2026, 3, 2))
    assert not is_overdue(S.READY, date(2026, 3, 2), date(2026, 3, 2))
    assert not is_overdue(S.COMPLETED, date(2026, 1, 1), date(2026, 3, 2))
