"""Recording an act for the patient in context (POST /p/prevention/acts), and reading where the rules
stand for that patient (GET /p/prevention/patient.json)."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from typing import Any

import pytest
from bouquet_prevention.models import PreventionAct
from bouquet_prevention.testing import MARTIN_INS, ON, open_patient
from sqlmodel import select

from bouquet.api.audit import AuditEvent


def rows(app: Any) -> list[PreventionAct]:
    with app.state.db.session() as session:
        return list(session.exec(select(PreventionAct)).all())


def events(app: Any, action: str) -> list[AuditEvent]:
    with app.state.db.session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all())


def context_id(client: Any) -> str:
    page = client.get("/p/prevention/acts/new")
    assert page.status_code == 200
    return re.search(r'name="patient_context_id" value="([^"]+)"', page.text).group(1)


@pytest.fixture
def signed_in(client: Any, doctor: Any, today: date) -> Any:
    client.login(doctor)
    open_patient(client)
    return client


def test_a_valid_act_is_recorded_for_the_patient_in_context_and_audited(signed_in: Any, doctor: Any) -> None:
    response = signed_in.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": "2026-11-20",
                                                        "patient_context_id": context_id(signed_in)})
    assert response.status_code == 303 and response.headers["location"] == "/p/prevention/acts/new?act=grippe"
    [row] = rows(signed_in.app)
    assert (row.patient_ins, row.act_code, row.performed_on) == (MARTIN_INS, "grippe", date(2026, 11, 20))
    assert (row.recorded_by_id, row.source) == (doctor.id, "portal") and row.recorded_at is not None
    [event] = events(signed_in.app, "prevention.act_recorded")
    assert event.patient_ins == MARTIN_INS and event.actor == doctor.label and event.outcome == "success"
    assert event.resource == f"prevention_act/{row.id}"
    assert event.details == {"act": "grippe", "performed_on": "2026-11-20", "already_recorded": False}
    assert "Vaccination contre la grippe saisonnière du 20/11/2026 enregistré." in signed_in.get(
        response.headers["location"]).text


def test_an_htmx_request_gets_a_fragment_and_a_second_recording_adds_no_row(signed_in: Any) -> None:
    data = {"act_code": "dTP", "performed_on": ON.isoformat()}
    first = signed_in.submit("/p/prevention/acts", data, headers={"HX-Request": "true"})
    assert first.status_code == 201 and "enregistré" in first.text and "<html" not in first.text
    again = signed_in.submit("/p/prevention/acts", data, headers={"HX-Request": "true"})
    assert again.status_code == 200 and "déjà enregistré" in again.text
    assert len(rows(signed_in.app)) == 1 and len(events(signed_in.app, "prevention.act_recorded")) == 2


@pytest.mark.parametrize(("data", "message"), [
    ({"act_code": "grippe", "performed_on": "2026-11-29"}, "La date de l'acte ne peut pas être dans le futur."),
    ({"act_code": "vaccin-miracle", "performed_on": "2026-11-20"}, "Acte inconnu : « vaccin-miracle »."),
    ({"act_code": "", "performed_on": "2026-11-20"}, "Choisissez l'acte à enregistrer."),
    ({"act_code": "grippe", "performed_on": "20/11/2026"}, "La date de l'acte doit être une date au format AAAA-MM-JJ."),
    ({"act_code": "grippe", "performed_on": "1960-10-01"},
     "La date de l'acte est antérieure à la naissance du patient (02/10/1960)."),
])
def test_a_bad_act_is_refused_with_400_and_a_french_message(signed_in: Any, data: dict[str, str], message: str) -> None:
    response = signed_in.submit("/p/prevention/acts", data)
    assert response.status_code == 400 and message in unescape(response.text)
    fragment = signed_in.submit("/p/prevention/acts", data, headers={"HX-Request": "true"})
    assert fragment.status_code == 400 and message in unescape(fragment.text) and "<html" not in fragment.text
    assert rows(signed_in.app) == [] and events(signed_in.app, "prevention.act_recorded") == []


def test_the_day_of_birth_and_today_are_accepted(signed_in: Any) -> None:
    for day in ("1960-10-02", ON.isoformat()):
        assert signed_in.submit("/p/prevention/acts", {"act_code": "bilan-prevention", "performed_on": day}).status_code == 303
    assert sorted(row.performed_on for row in rows(signed_in.app)) == [date(1960, 10, 2), ON]


def test_a_secretary_is_refused_with_403_and_the_refusal_is_audited(client: Any, doctor: Any, make_account: Any,
                                                                   today: date) -> None:
    secretary = make_account(kind="secretary", given_name="Sam")
    client.login(secretary, acting_for=doctor)
    open_patient(client)
    response = client.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": "2026-11-20"})
    assert response.status_code == 403 and "pas le droit" in response.text
    assert client.get("/p/prevention/acts/new").status_code == 403
    assert rows(client.app) == []
    [event] = events(client.app, "prevention.act_recorded")
    assert (event.outcome, event.patient_ins, event.actor) == ("denied", MARTIN_INS, secretary.label)
    # Reading is administrative: a secretary may (prevention.read is granted to secretaries).
    assert client.get("/p/prevention/patient.json").status_code == 200


def test_without_the_csrf_token_nothing_is_recorded(signed_in: Any) -> None:
    response = signed_in.post("/p/prevention/acts", data={"act_code": "grippe", "performed_on": "2026-11-20"})
    assert response.status_code == 403 and rows(signed_in.app) == []


def test_without_a_patient_in_context_the_act_is_refused(client: Any, doctor: Any, today: date) -> None:
    client.login(doctor)
    response = client.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": "2026-11-20"})
    assert response.status_code == 400 and "Aucun dossier patient n'est ouvert" in unescape(response.text)
    assert "ouvrez d'abord le dossier du patient" in unescape(client.get("/p/prevention/acts/new").text)


def test_a_form_opened_for_another_patient_is_refused(signed_in: Any) -> None:
    response = signed_in.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": "2026-11-20",
                                                        "patient_context_id": "un-autre-contexte"})
    assert response.status_code == 409 and rows(signed_in.app) == []


def test_the_form_preselects_the_act_of_a_rule(signed_in: Any) -> None:
    page = signed_in.get("/p/prevention/acts/new?rule=zona-65-ans").text
    assert '<option value="zona-Shingrix" selected>' in page and "MARTIN" in page
    assert 'max="2026-11-28"' in page


def test_the_page_is_behind_sign_in(client: Any) -> None:
    assert client.get("/p/prevention/acts/new", headers={"accept": "text/html"}).status_code == 303
    assert client.get("/p/prevention/patient.json").status_code == 401


def test_a_66_year_old_is_due_for_influenza_until_the_vaccine_is_recorded(signed_in: Any) -> None:
    def flu() -> dict[str, Any]:
        response = signed_in.get("/p/prevention/patient.json")
        assert response.status_code == 200 and response.json()["on"] == "2026-11-28"
        return next(o for o in response.json()["outcomes"] if o["rule"] == "grippe-65-ans")

    before = flu()
    assert (before["status"], before["since"]) == ("due", "2026-10-15")
    assert signed_in.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": "2026-11-28"}).status_code == 303
    after = flu()
    assert (after["status"], after["until"], after["last"]) == ("done", "2027-10-15", "2026-11-28")
    assert {e.patient_ins for e in events(signed_in.app, "prevention.read")} == {MARTIN_INS}
    assert len(events(signed_in.app, "prevention.read")) == 2
