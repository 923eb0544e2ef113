"""The prevention panel's fragment (GET /p/prevention/panel) for the patient in context."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from typing import Any

from sqlmodel import select

from bouquet.audit import AuditEvent
from bouquet_prevention.testing import MARTIN_INS, open_patient

HX = {"HX-Request": "true"}


def test_the_panel_lists_what_is_overdue_due_upcoming_and_up_to_date(client: Any, doctor: Any, today: date) -> None:
    client.login(doctor)
    open_patient(client)
    assert client.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": "2026-11-02"}).status_code == 303
    response = client.get("/p/prevention/panel", headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    text = unescape(response.text)
    sections = re.findall(r'<h3 class="fr-h6 fr-mb-1w">(.*?)</h3>', text)
    assert sections == ["À faire", "À jour"]
    rules = re.findall(r'data-rule="([^"]+)"', text)
    # Overdue first, then due, each by date (ties in the rule set's order); then what is up to date.
    assert rules == ["depistage-cancer-sein", "depistage-cancer-colorectal", "dtp-rappel-adulte",
                     "pneumocoque-65-ans", "zona-65-ans", "grippe-65-ans"]
    assert "En retard depuis le 02/04/2011" in text and "À jour jusqu'au 15/10/2027" in text
    assert 'href="/p/prevention/acts/new?rule=zona-65-ans"' in text
    with client.app.state.db.session() as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.resource == "prevention/panel")).all()
    assert (event.action, event.patient_ins) == ("prevention.read", MARTIN_INS)


def test_a_secretary_sees_the_panel_without_the_links_to_record(client: Any, doctor: Any, make_account: Any,
                                                                today: date) -> None:
    client.login(make_account(kind="secretary"), acting_for=doctor)
    open_patient(client)
    response = client.get("/p/prevention/panel", headers=HX)
    assert response.status_code == 200 and "data-rule=" in response.text and "Enregistrer l'acte" not in unescape(response.text)


def test_without_a_patient_the_panel_says_so(client: Any, doctor: Any) -> None:
    client.login(doctor)
    response = client.get("/p/prevention/panel", headers=HX)
    assert response.status_code == 409 and "Aucun dossier patient" in response.text
