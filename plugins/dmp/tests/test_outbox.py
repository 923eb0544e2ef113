"""The notification outbox as a sender (MSSanté) uses it: each pending message claimed by one sender only, given
back when sending failed, marked sent once sent; the access history then says « envoyé »."""

from __future__ import annotations

from html import unescape

from bouquet_dmp import access, outbox
from bouquet_dmp.models import DmpNotification
from bouquet_dmp.testing import MARTIN_INS
from sqlmodel import select

BODY = {"resourceType": "Parameters", "parameter": [{"name": "reason", "valueString": "Patient inconscient aux urgences"}]}


def test_a_sender_claims_sends_and_marks_each_message_once(app, client, doctor, nurse, identity, open_patient):
    access.set_medecin_traitant(app.state.db, MARTIN_INS, doctor.idnat_ps)
    assert client.post("/p/dmp/fhir/Patient/$bris-de-glace", json=BODY, headers=identity(nurse)).status_code == 200
    first = outbox.take(app.state.db)
    assert sorted(m.recipient for m in first) == ["medecin-traitant", "patient"] and {m.status for m in first} == {"sending"}
    assert outbox.take(app.state.db) == []                      # another sender gets nothing twice
    to_patient, to_doctor = sorted(first, key=lambda m: m.recipient != "patient")
    assert outbox.give_back(app.state.db, to_patient.id)        # sending failed: pending again, for the next round
    assert not outbox.mark_sent(app.state.db, to_patient.id)    # not claimed any more: not marked
    assert outbox.mark_sent(app.state.db, to_doctor.id)
    assert not outbox.mark_sent(app.state.db, to_doctor.id)     # once
    assert [m.id for m in outbox.take(app.state.db)] == [to_patient.id]
    with app.state.db.session() as session:
        stored = {n.id: n for n in session.exec(select(DmpNotification))}
    assert stored[to_doctor.id].status == "sent" and stored[to_doctor.id].sent_at is not None
    assert stored[to_patient.id].status == "sending" and stored[to_patient.id].sent_at is None
    client.login(doctor)
    open_patient(client)
    history = unescape(client.get("/p/dmp/history").text)
    assert history.count("envoyé</span>") == 1 and history.count("en attente d'envoi") == 1
