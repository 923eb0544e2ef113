"""Risk conditions from each source change what the patient page, CDS Hooks and « Prévention — mes
patients » show: (a) the practice software's launch, (b) the CDS Hooks prefetch, (c) a
professional's declaration (audited, correctable), (d) another plugin (`test_hooks.py`). MARTIN
(66) has no RSV card unless she has a chronic respiratory or heart disease."""

from __future__ import annotations

import json
import re
from datetime import date
from html import unescape
from typing import Any

import pytest
from bouquet_prevention import population
from bouquet_prevention.conditions import default_condition_codes
from bouquet_prevention.hooks import engine_for
from bouquet_prevention.testing import MARTIN, MARTIN_INS, open_patient
from sqlmodel import select

from bouquet.api.audit import AuditEvent
from bouquet.api.oauth import register_client

HX = {"HX-Request": "true"}
RSV = "vrs-65-ans-risque"
COPD = {"system": "http://hl7.org/fhir/sid/icd-10", "code": "J44.9"}


def panel_rules(client: Any) -> list[str]:
    response = client.get("/p/prevention/panel", headers=HX)
    assert response.status_code == 200, response.text
    return re.findall(r'data-rule="([^"]+)"', response.text)


def events(app: Any, action: str) -> list[AuditEvent]:
    with app.state.db.session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all())


def population_rules(app: Any, doctor: Any) -> set[tuple[str, str]]:
    with app.state.db.session() as session:
        patients = population.patients_of(session, doctor.id)
        rows = population.evaluate(session, engine_for(app.state.plugins), patients, date(2026, 11, 28),
                                   population.STATUS_FILTERS[""])
    return {(row.outcome.rule.id, row.patient.ins) for row in rows}


def test_the_codes_map_to_the_catalogue_s_conditions() -> None:
    codes = default_condition_codes()
    assert codes.condition_for("http://hl7.org/fhir/sid/icd-10", "J44.9") == "maladie-respiratoire-chronique"
    assert codes.condition_for("http://hl7.org/fhir/sid/icd-10", "j449") == "maladie-respiratoire-chronique"
    assert codes.condition_for("http://snomed.info/sct", "73211009") == "diabete"
    assert codes.condition_for("urn:bouquet:prevention:condition", "grossesse") == "grossesse"
    assert codes.condition_for("http://hl7.org/fhir/sid/icd-10", "A00") is None
    assert codes.condition_for("http://example.org/other", "J44") is None


def test_a_declared_condition_changes_the_page_cds_and_the_list_and_can_be_withdrawn(
        client: Any, app: Any, doctor: Any, today: date, cds_client: str, make_jwt: Any) -> None:
    client.login(doctor)
    open_patient(client)
    with app.state.db.write() as session:
        population.declare(session, doctor.id, [MARTIN])
    assert RSV not in panel_rules(client)
    assert (RSV, MARTIN_INS) not in population_rules(app, doctor)

    # Refused: no source. Nothing is stored, what was typed is still there.
    refused = client.submit("/p/prevention/conditions", {"condition": "maladie-respiratoire-chronique", "source": ""})
    assert refused.status_code == 400 and "Indiquez d'où vous tenez" in unescape(refused.text)
    assert 'value="maladie-respiratoire-chronique" selected' in refused.text
    unknown = client.submit("/p/prevention/conditions", {"condition": "inventee", "source": "CR"})
    assert unknown.status_code == 400 and "Condition inconnue" in unescape(unknown.text)
    # Both fields wrong: both errors at once, each beside its field.
    both = client.submit("/p/prevention/conditions", {"condition": "", "source": ""})
    assert both.status_code == 400 and 'id="condition-error"' in both.text and 'id="source-error"' in both.text
    assert events(app, "prevention.condition_declared") == []

    # Corrected and resubmitted.
    declared = client.submit("/p/prevention/conditions", {"condition": "maladie-respiratoire-chronique",
                                                          "source": "Compte rendu de pneumologie du 02/09/2026"})
    assert declared.status_code == 303
    assert RSV in panel_rules(client)
    page = unescape(client.get("/p/prevention/conditions").text)
    assert "Maladie respiratoire chronique" in page and "Compte rendu de pneumologie" in page
    assert "déclaré par Alice MARTIN" in page or "déclaré par" in page
    assert (RSV, MARTIN_INS) in population_rules(app, doctor)
    body = {"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "hook": "patient-view",
            "context": {"userId": "PractitionerRole/x", "patientId": "p"},
            "prefetch": {"patient": MARTIN.to_fhir_patient("p")}}
    cards = client.post("/p/prevention/cds-services/bouquet-prevention", content=json.dumps(body).encode(),
                        headers={"Authorization": f"Bearer {make_jwt()}", "Content-Type": "application/json"})
    assert any("VRS" in card["summary"] or "syncytial" in card["summary"] for card in cards.json()["cards"])
    [event] = events(app, "prevention.condition_declared")
    assert event.patient_ins == MARTIN_INS and event.details["condition"] == "maladie-respiratoire-chronique"

    # Withdrawn (a mistake): a reason is required; then the card is gone everywhere.
    declaration = re.search(r'data-declaration="(\d+)"', page).group(1)
    no_reason = client.submit(f"/p/prevention/conditions/{declaration}/withdraw", {"reason": ""})
    assert no_reason.status_code == 400 and RSV in panel_rules(client)
    assert f'id="reason-{declaration}-error"' in no_reason.text
    withdrawn = client.submit(f"/p/prevention/conditions/{declaration}/withdraw", {"reason": "Erreur de patient"})
    assert withdrawn.status_code == 303
    assert RSV not in panel_rules(client)
    assert (RSV, MARTIN_INS) not in population_rules(app, doctor)
    [event] = events(app, "prevention.condition_withdrawn")
    assert event.details == {"condition": "maladie-respiratoire-chronique", "reason": "Erreur de patient"}
    again = client.submit(f"/p/prevention/conditions/{declaration}/withdraw", {"reason": "encore"})
    assert again.status_code == 404


def test_a_secretary_may_read_the_conditions_but_not_declare(client: Any, doctor: Any, make_account: Any,
                                                            today: date) -> None:
    client.login(make_account(kind="secretary"), acting_for=doctor)
    open_patient(client)
    assert client.get("/p/prevention/conditions").status_code == 200
    refused = client.submit("/p/prevention/conditions", {"condition": "diabete", "source": "CR"})
    assert refused.status_code == 403


def test_conditions_in_the_cds_prefetch_make_the_risk_rules_fire(client: Any, today: date, cds_client: str,
                                                                make_jwt: Any) -> None:
    def cards(conditions: list[dict[str, Any]] | None) -> list[str]:
        prefetch: dict[str, Any] = {"patient": MARTIN.to_fhir_patient("p")}
        if conditions is not None:
            prefetch["conditions"] = {"resourceType": "Bundle", "type": "searchset",
                                      "entry": [{"resource": c} for c in conditions]}
        body = {"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "hook": "patient-view",
                "context": {"userId": "PractitionerRole/x", "patientId": "p"}, "prefetch": prefetch}
        answer = client.post("/p/prevention/cds-services/bouquet-prevention", content=json.dumps(body).encode(),
                             headers={"Authorization": f"Bearer {make_jwt()}", "Content-Type": "application/json"})
        assert answer.status_code == 200, answer.text
        return [card["summary"] for card in answer.json()["cards"]]

    copd = {"resourceType": "Condition", "code": {"coding": [COPD]},
            "clinicalStatus": {"coding": [{"code": "active"}]}}
    resolved = {**copd, "clinicalStatus": {"coding": [{"code": "resolved"}]}}
    assert not any("VRS" in s for s in cards(None))
    assert any("VRS" in s for s in cards([copd]))
    assert not any("VRS" in s for s in cards([resolved]))
    refused = client.post("/p/prevention/cds-services/bouquet-prevention", headers={
        "Authorization": f"Bearer {make_jwt()}", "Content-Type": "application/json"}, content=json.dumps({
            "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "hook": "patient-view",
            "context": {"userId": "PractitionerRole/x", "patientId": "p"},
            "prefetch": {"patient": MARTIN.to_fhir_patient("p"), "conditions": {"resourceType": "Patient"}}}).encode())
    assert refused.status_code == 400 and refused.json()["field"] == "prefetch.conditions.resourceType"


@pytest.fixture
def local(make_app: Any) -> Any:
    """The portal at http://localhost (the OAuth server refuses plain http elsewhere)."""
    from bouquet.testing.fixtures import BouquetClient

    with BouquetClient(make_app(base_url="http://localhost"), base_url="http://localhost",
                       follow_redirects=False) as portal:
        yield portal


def test_conditions_sent_by_the_practice_software_s_launch_count(local: Any, doctor: Any, today: date) -> None:
    with local.app.state.db.write() as session:
        registered = register_client(session, name="Logiciel de cabinet", grant_types=["client_credentials"],
                                     scope="launch", redirect_uris=[])
        client_id, secret = registered.client.client_id, registered.secret
    token = local.post("/token", data={"grant_type": "client_credentials", "scope": "launch"},
                       auth=(client_id, secret)).json()["access_token"]
    patient = {**MARTIN.to_dict(), "conditions": [COPD, {"system": "http://snomed.info/sct", "code": "1"}]}
    patient.pop("source", None)
    answer = local.post("/api/launch", json={"professional": doctor.idnat_ps, "patient": patient},
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 201, answer.text
    bad = local.post("/api/launch", headers={"Authorization": f"Bearer {token}"}, json={
        "professional": doctor.idnat_ps, "patient": {**patient, "conditions": [{"system": "x"}]}})
    assert bad.status_code == 400 and "conditions[0].code" in bad.text

    local.login(doctor)
    name, session_token = next(iter(local.cookies.keys())), local.session_token or ""
    local.cookies.clear()
    local.cookies.set(name, session_token, domain="localhost.local", path="/")
    opened = local.get(answer.json()["launch_url"].replace("http://localhost", ""))
    assert opened.status_code in (200, 303), opened.text[:300]
    assert RSV in panel_rules(local)
    page = unescape(local.get("/p/prevention/conditions").text)
    assert "transmis par votre logiciel métier" in page
    # The population view reads them from the stored context.
    assert (RSV, MARTIN_INS) in population_rules(local.app, doctor)


class ProblemList:
    """Another plugin that knows the patients' problem lists (source d), one patient or a whole list."""

    from bouquet import hookimpl

    @hookimpl
    def prevention_conditions(self, patient: Any) -> list[str]:
        return ["maladie-respiratoire-chronique"] if patient.ins.matricule == MARTIN.ins.matricule else []

    @hookimpl
    def prevention_conditions_bulk(self, patients: list[Any]) -> dict[str, list[str]]:
        return {f"{p.ins.oid}|{p.ins.matricule}": self.prevention_conditions(p) for p in patients}


def test_another_plugin_s_conditions_reach_the_population_view(make_app: Any, doctor: Any, today: date) -> None:
    from bouquet.testing.fixtures import BouquetClient

    for extra, expected in (([], False), ([("problem_list", ProblemList())], True)):
        app = make_app(plugins="prevention", extra_plugins=extra)
        with app.state.db.write() as session:
            population.declare(session, doctor.id, [MARTIN])
        with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as client:
            client.login(doctor)
            listed = unescape(client.get("/p/prevention/mes-patients", params={"rule": RSV}).text)
            assert ("Ouvrir le dossier de MARTIN" in listed) is expected
            open_patient(client)
            assert (RSV in panel_rules(client)) is expected
