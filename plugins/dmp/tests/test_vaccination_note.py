"""A vaccination recorded in Bouquet, sent to the patient's DMP as a vaccination note (MHD provide,
under the DMP's rules), through the prevention plugin's `prevention_share_vaccination` hook."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest
from bouquet_dmp.testing import MARTIN
from sqlmodel import select

from bouquet.api.audit import AuditEvent

ON = date(2026, 11, 28)


@pytest.fixture(autouse=True)
def pinned_prevention_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from bouquet_prevention import clock

    monkeypatch.setattr(clock, "today", lambda: ON)


def _flu(client) -> dict:
    return next(o for o in client.get("/p/prevention/patient.json").json()["outcomes"] if o["rule"] == "grippe-65-ans")


def test_a_recorded_vaccination_is_sent_to_the_dmp_and_counts_from_there(client, doctor, open_patient, app):
    client.login(doctor)
    open_patient(client, MARTIN)                      # her DMP vaccination record has no influenza vaccine
    assert _flu(client)["status"] == "due"
    assert client.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": "2026-11-20", "decision": "confirm"}).status_code == 303
    page = unescape(client.get("/p/prevention/acts/new").text)
    assert "Envoyer au DMP (note de vaccination)" in page
    [act_id] = re.findall(r'data-act="(\d+)"', page)

    sent = client.submit(f"/p/prevention/acts/{act_id}/share")
    assert sent.status_code == 303, sent.text[:500]
    # The DMP now holds it: deleting Bouquet's row leaves the vaccine known, read back from the DMP.
    assert client.submit(f"/p/prevention/acts/{act_id}/delete", {"reason": "Doublon du DMP"}).status_code == 303
    flu = _flu(client)
    assert flu["status"] == "done" and flu["last"] == "2026-11-20"
    with app.state.db.session() as session:
        provided = session.exec(select(AuditEvent).where(AuditEvent.action == "dmp.provide")).all()
        shared = session.exec(select(AuditEvent).where(AuditEvent.action == "prevention.act_shared")).all()
    assert [e.details.get("via") for e in provided] == ["prevention"] and provided[0].outcome == "success"
    assert [e.outcome for e in shared] == ["success"] and shared[0].details["to"] == "dmp"


def test_a_secretary_may_not_send_to_the_dmp(client, doctor, secretary, open_patient, app):
    client.login(doctor)
    open_patient(client, MARTIN)
    assert client.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": "2026-11-20", "decision": "confirm"}).status_code == 303
    [act_id] = re.findall(r'data-act="(\d+)"', client.get("/p/prevention/acts/new").text)
    client.login(secretary, acting_for=doctor)
    open_patient(client, MARTIN)
    refused = client.submit(f"/p/prevention/acts/{act_id}/share")
    assert refused.status_code == 403
    with app.state.db.session() as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "dmp.provide")).all() == []
