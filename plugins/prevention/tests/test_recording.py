"""Recording an act for the patient in context (POST /p/prevention/acts: checked, then confirmed —
nothing is recorded in one click), and reading where the rules stand for that patient
(GET /p/prevention/patient.json)."""

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


CONFIRM = {"decision": "confirm"}


def confirmation_fields(page: str) -> dict[str, str]:
    """The hidden fields of the confirmation page's form (what « Confirmer » sends back)."""
    form = re.search(r'<form method="post" action="/p/prevention/acts">.*?</form>', page, re.S)
    assert form is not None, page
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(0)))


@pytest.fixture
def signed_in(client: Any, doctor: Any, today: date) -> Any:
    client.login(doctor)
    open_patient(client)
    return client


def test_an_act_is_first_shown_for_confirmation_and_recorded_only_once_confirmed(signed_in: Any, doctor: Any) -> None:
    asked = signed_in.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": "2026-11-20",
                                                     "patient_context_id": context_id(signed_in)})
    page = unescape(asked.text)
    assert asked.status_code == 200 and "Confirmer l'enregistrement" in page
    shown = re.search(r'<dl class="fr-mb-3w" data-testid="to-record">(.*?)</dl>', page, re.S).group(1)
    shown = " ".join(re.sub(r"<[^>]+>", " ", shown).split())
    assert shown == ("Patient MARTIN Marie, née le 02/10/1960 Acte réalisé Vaccination contre la grippe "
                     f"saisonnière Date 20/11/2026 Enregistré par {doctor.display_name}"), shown
    assert 'name="decision" value="confirm"' in page and 'name="decision" value="cancel"' in page
    assert rows(signed_in.app) == [] and events(signed_in.app, "prevention.act_recorded") == []
    fields = confirmation_fields(page)
    assert fields["csrf_token"] and fields["act_code"] == "grippe" and fields["performed_on"] == "2026-11-20"
    response = signed_in.submit("/p/prevention/acts", {k: v for k, v in fields.items() if k != "csrf_token"} | CONFIRM)
    assert response.status_code == 303 and response.headers["location"] == "/p/prevention/acts/new?act=grippe"
    [row] = rows(signed_in.app)
    assert (row.patient_ins, row.act_code, row.performed_on) == (MARTIN_INS, "grippe", date(2026, 11, 20))
    assert (row.recorded_by_id, row.source) == (doctor.id, "portal") and row.recorded_at is not None
    [event] = events(signed_in.app, "prevention.act_recorded")
    assert event.patient_ins == MARTIN_INS and event.actor == doctor.label and event.outcome == "success"
    assert event.resource == f"prevention_act/{row.id}"
    assert event.details == {"act": "grippe", "performed_on": "2026-11-20", "already_recorded": False}
    assert "Vaccination contre la grippe saisonnière du 20/11/2026 enregistrée." in unescape(signed_in.get(
        response.headers["location"]).text)


def test_cancelling_records_nothing_and_says_so(signed_in: Any) -> None:
    data = {"act_code": "grippe", "performed_on": ON.isoformat(), "then": "patient"}
    fields = confirmation_fields(signed_in.submit("/p/prevention/acts", data).text)
    cancelled = signed_in.submit("/p/prevention/acts", {k: v for k, v in fields.items() if k != "csrf_token"}
                                 | {"decision": "cancel"})
    assert cancelled.status_code == 303 and cancelled.headers["location"] == "/patient"
    assert "Enregistrement annulé : rien n'a été enregistré." in unescape(signed_in.get("/patient").text)
    assert rows(signed_in.app) == [] and events(signed_in.app, "prevention.act_recorded") == []
    # Then confirmed on a second try: recorded once.
    assert signed_in.submit("/p/prevention/acts", data | CONFIRM).status_code == 303
    assert [row.act_code for row in rows(signed_in.app)] == ["grippe"]


def test_an_unknown_decision_is_refused_and_records_nothing(signed_in: Any) -> None:
    response = signed_in.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": ON.isoformat(),
                                                        "decision": "oui"})
    assert response.status_code == 400 and "Choisissez « Confirmer » ou « Annuler »." in unescape(response.text)
    assert rows(signed_in.app) == []


def test_a_second_recording_adds_no_row_and_says_it_was_already_recorded(signed_in: Any) -> None:
    data = {"act_code": "dTP", "performed_on": ON.isoformat()} | CONFIRM
    assert signed_in.submit("/p/prevention/acts", data).status_code == 303
    again = signed_in.submit("/p/prevention/acts", data)
    assert again.status_code == 303
    assert "Rappel diphtérie, tétanos, poliomyélite (dTP) du 28/11/2026 était déjà enregistré." in unescape(
        signed_in.get(again.headers["location"]).text)
    assert len(rows(signed_in.app)) == 1 and len(events(signed_in.app, "prevention.act_recorded")) == 2


def test_an_exam_done_elsewhere_is_confirmed_as_a_result_received_with_its_date(signed_in: Any) -> None:
    data = {"act_code": "mammographie", "performed_on": "2026-09-14"}
    page = unescape(signed_in.submit("/p/prevention/acts", data).text)
    assert "Résultat reçu" in page and "Date de l'examen" in page and "14/09/2026" in page
    assert "Acte réalisé" not in page
    done = signed_in.submit("/p/prevention/acts", data | CONFIRM)
    assert "Résultat reçu : Mammographie de dépistage du 14/09/2026 enregistré." in unescape(
        signed_in.get(done.headers["location"]).text)


@pytest.mark.parametrize(("data", "message"), [
    ({"act_code": "grippe", "performed_on": "2026-11-29"}, "La date de l'acte ne peut pas être dans le futur."),
    ({"act_code": "vaccin-miracle", "performed_on": "2026-11-20"}, "Acte inconnu : « vaccin-miracle »."),
    ({"act_code": "", "performed_on": "2026-11-20"}, "Choisissez l'acte à enregistrer."),
    ({"act_code": "grippe", "performed_on": "20/11/2026"}, "La date de l'acte doit être une date au format AAAA-MM-JJ."),
    ({"act_code": "grippe", "performed_on": "1960-10-01"},
     "La date de l'acte est antérieure à la naissance du patient (02/10/1960)."),
])
def test_a_bad_act_is_refused_with_400_and_a_french_message(signed_in: Any, data: dict[str, str], message: str) -> None:
    for decision in ({}, CONFIRM):  # refused before the confirmation page, and when confirmed anyway
        response = signed_in.submit("/p/prevention/acts", data | decision)
        assert response.status_code == 400 and message in unescape(response.text)
        assert "Confirmer l'enregistrement" not in response.text
    from_panel = signed_in.submit("/p/prevention/acts", data | {"then": "patient"})
    assert from_panel.status_code == 303 and message in unescape(signed_in.get("/patient").text)
    assert rows(signed_in.app) == [] and events(signed_in.app, "prevention.act_recorded") == []


def test_every_error_is_given_at_once_and_what_was_typed_kept_then_corrected(signed_in: Any) -> None:
    refused = signed_in.submit("/p/prevention/acts", {"act_code": "vaccin-miracle", "performed_on": "demain"})
    page = unescape(refused.text)
    assert refused.status_code == 400
    assert "Acte inconnu : « vaccin-miracle »." in page and "au format AAAA-MM-JJ" in page
    assert 'id="act_code-error"' in page and 'id="performed_on-error"' in page
    assert 'value="demain"' in page
    fixed = signed_in.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": "2026-11-20"})
    assert fixed.status_code == 200 and "Confirmer l'enregistrement" in fixed.text


def test_the_day_of_birth_and_today_are_accepted(signed_in: Any) -> None:
    for day in ("1960-10-02", ON.isoformat()):
        assert signed_in.submit("/p/prevention/acts", {"act_code": "bilan-prevention", "performed_on": day}
                                | CONFIRM).status_code == 303
    assert sorted(row.performed_on for row in rows(signed_in.app)) == [date(1960, 10, 2), ON]


def test_a_secretary_is_refused_with_403_and_the_refusal_is_audited(client: Any, doctor: Any, make_account: Any,
                                                                   today: date) -> None:
    secretary = make_account(kind="secretary", given_name="Sam")
    client.login(secretary, acting_for=doctor)
    open_patient(client)
    for decision in ({}, CONFIRM):
        response = client.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": "2026-11-20"} | decision)
        assert response.status_code == 403 and "pas le droit" in response.text
    assert client.get("/p/prevention/acts/new").status_code == 403
    assert rows(client.app) == []
    denied = events(client.app, "prevention.act_recorded")
    assert [(e.outcome, e.patient_ins, e.actor) for e in denied] == [("denied", MARTIN_INS, secretary.label)] * 2
    # Reading is administrative: a secretary may (prevention.read is granted to secretaries).
    assert client.get("/p/prevention/patient.json").status_code == 200


def test_without_the_csrf_token_nothing_is_recorded(signed_in: Any) -> None:
    response = signed_in.post("/p/prevention/acts", data={"act_code": "grippe", "performed_on": "2026-11-20"} | CONFIRM)
    assert response.status_code == 403 and rows(signed_in.app) == []


def test_without_a_patient_in_context_the_act_is_refused(client: Any, doctor: Any, today: date) -> None:
    client.login(doctor)
    response = client.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": "2026-11-20"} | CONFIRM)
    assert response.status_code == 400 and "Aucun dossier patient n'est ouvert" in unescape(response.text)
    assert "ouvrez d'abord le dossier du patient" in unescape(client.get("/p/prevention/acts/new").text)


def test_a_form_opened_for_another_patient_is_refused(signed_in: Any) -> None:
    response = signed_in.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": "2026-11-20",
                                                        "patient_context_id": "un-autre-contexte"} | CONFIRM)
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
    assert signed_in.submit("/p/prevention/acts", {"act_code": "grippe", "performed_on": "2026-11-28"}
                            | CONFIRM).status_code == 303
    after = flu()
    assert (after["status"], after["until"], after["last"]) == ("done", "2027-10-15", "2026-11-28")
    assert {e.patient_ins for e in events(signed_in.app, "prevention.read")} == {MARTIN_INS}
    assert len(events(signed_in.app, "prevention.read")) == 2
