"""An act recorded by mistake (a one-click « Fait aujourd'hui ») is listed, corrected and deleted by
its author, with a reason, audited; the status is recomputed each time."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from typing import Any

from bouquet_prevention.testing import MARTIN_INS, open_patient
from sqlmodel import select

from bouquet.api.audit import AuditEvent

HX = {"HX-Request": "true"}


def flu(client: Any) -> dict[str, Any]:
    outcomes = client.get("/p/prevention/patient.json").json()["outcomes"]
    return next(o for o in outcomes if o["rule"] == "grippe-65-ans")


def events(app: Any, action: str) -> list[AuditEvent]:
    with app.state.db.session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all())


def test_recorded_corrected_deleted_and_the_status_recomputed(client: Any, app: Any, doctor: Any, make_account: Any,
                                                              today: date) -> None:
    client.login(doctor)
    open_patient(client)
    assert flu(client)["status"] == "due"
    # « Fait aujourd'hui », confirmed, records today's date.
    assert client.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": today.isoformat(),
                                                 "then": "patient", "decision": "confirm"}).status_code == 303
    assert flu(client)["status"] == "done" and flu(client)["last"] == today.isoformat()
    page = unescape(client.get("/p/prevention/acts/new").text)
    [act_id] = re.findall(r'data-act="(\d+)"', page)
    assert "Vaccination contre la grippe saisonnière</strong> — le 28/11/2026" in page

    # A correction without a reason is refused, keeps the typed date, changes nothing.
    refused = client.submit(f"/p/prevention/acts/{act_id}/correct", {"performed_on": "2025-12-01", "reason": ""})
    assert refused.status_code == 400 and "motif de la correction" in unescape(refused.text)
    assert 'value="2025-12-01"' in refused.text and flu(client)["last"] == today.isoformat()
    assert f'id="reason-c-{act_id}-error"' in refused.text  # the error beside its field
    # Both errors at once (a date in the future and no reason), what was typed kept.
    future = client.submit(f"/p/prevention/acts/{act_id}/correct", {"performed_on": "2027-01-01", "reason": ""})
    text = unescape(future.text)
    assert future.status_code == 400 and "ne peut pas être dans le futur" in text and "motif de la correction" in text
    assert 'value="2027-01-01"' in future.text and flu(client)["last"] == today.isoformat()

    # Corrected: it was last season's vaccine, so this season's is due again.
    corrected = client.submit(f"/p/prevention/acts/{act_id}/correct",
                              {"performed_on": "2025-12-01", "reason": "Vaccin de la saison dernière, clic erroné"})
    assert corrected.status_code == 303
    assert "Vaccination contre la grippe saisonnière du 01/12/2025 corrigée." in unescape(
        client.get(corrected.headers["location"]).text)
    assert flu(client)["status"] == "due" and flu(client)["last"] == "2025-12-01"
    [event] = events(app, "prevention.act_corrected")
    assert event.patient_ins == MARTIN_INS and event.details == {
        "act": "grippe", "performed_on": "2026-11-28", "corrected_to": "2025-12-01",
        "reason": "Vaccin de la saison dernière, clic erroné"}

    # Someone else may not change it.
    colleague = make_account()
    client.login(colleague)
    open_patient(client)
    page = unescape(client.get("/p/prevention/acts/new").text)
    assert f'data-act="{act_id}"' in page and f"/p/prevention/acts/{act_id}/delete" not in page
    other = client.submit(f"/p/prevention/acts/{act_id}/delete", {"reason": "pas à moi"})
    assert other.status_code == 403 and flu(client)["last"] == "2025-12-01"
    assert [e.outcome for e in events(app, "prevention.act_deleted")] == ["denied"]

    # Deleted by its author, with a reason: the status no longer counts it.
    client.login(doctor)
    open_patient(client)
    assert client.submit(f"/p/prevention/acts/{act_id}/delete", {"reason": ""}).status_code == 400
    deleted = client.submit(f"/p/prevention/acts/{act_id}/delete", {"reason": "Jamais fait"})
    assert deleted.status_code == 303
    assert "Vaccination contre la grippe saisonnière du 01/12/2025 supprimée." in unescape(
        client.get(deleted.headers["location"]).text)
    assert flu(client)["status"] == "due" and flu(client)["last"] is None
    assert events(app, "prevention.act_deleted")[-1].details == {"act": "grippe", "performed_on": "2025-12-01",
                                                                 "reason": "Jamais fait"}
    assert client.submit(f"/p/prevention/acts/{act_id}/delete", {"reason": "encore"}).status_code == 404
    assert client.submit("/p/prevention/acts/99999999999999999999999/delete", {"reason": "x"}).status_code == 404


class RefusingDmp:
    from bouquet import hookimpl

    @hookimpl
    def prevention_share_vaccination(self, ctx: Any, patient: Any, vaccination: dict[str, Any]) -> dict[str, Any]:
        assert vaccination == {"act": "grippe", "label": "Vaccination contre la grippe saisonnière", "cvx": "88",
                               "performed_on": "2026-11-20"}
        return {"sent": False, "message": "Le patient s'est opposé à l'alimentation de son DMP."}


def test_sending_a_vaccination_elsewhere_says_why_it_failed(make_app: Any, doctor: Any, today: date) -> None:
    from bouquet.testing.fixtures import BouquetClient

    for extra, status, words in (([], 409, "Aucun service"), ([("refusing", RefusingDmp())], 502, "opposé")):
        app = make_app(plugins="prevention", extra_plugins=extra)
        with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as client:
            client.login(doctor)
            open_patient(client)
            client.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": "2026-11-20",
                                                 "decision": "confirm"})
            page = client.get("/p/prevention/acts/new").text
            assert ("Envoyer au DMP" in page) == bool(extra)
            [act_id] = re.findall(r'data-act="(\d+)"', page)
            answer = client.submit(f"/p/prevention/acts/{act_id}/share")
            assert answer.status_code == status and words in unescape(answer.text)
        if extra:
            [event] = events(app, "prevention.act_shared")
            assert event.outcome == "failure" and event.details["to"] == "refusing"
