"""Issue 17: a pregnancy carries its term from each source of conditions, and that changes what the
patient page's panel, CDS Hooks cards, « Prévention — mes patients » and `bouquet prevention
evaluate` show for maternal RSV vaccination (`vrs-grossesse`). N'DIAYE Aminata (demo patient, 33)
is 33 SA on the pinned day (28 November 2026, inside September-January)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from html import unescape
from typing import Any

import pytest
from bouquet_prevention import population
from bouquet_prevention.hooks import engine_for
from bouquet_prevention.models import DeclaredCondition
from bouquet_prevention.pregnancy import DUE_SYSTEM, START_SYSTEM, due_from_start
from bouquet_prevention.testing import ON, open_patient
from sqlmodel import select

from bouquet.api.audit import AuditEvent
from bouquet.api.patient import DEMO_PATIENTS

HX = {"HX-Request": "true"}
RSV = "vrs-grossesse"
NDIAYE = DEMO_PATIENTS[4]
NDIAYE_INS = f"{NDIAYE.ins.oid}|{NDIAYE.ins.matricule}"
START = ON - timedelta(days=33 * 7 - 14)   # 33 SA + 0 j on ON: 2026-04-25
DUE = due_from_start(START)                 # 2027-01-23
DEADLINE = "25/12/2026"                     # 36 SA + 6 j
PREGNANT = {"system": "http://hl7.org/fhir/sid/icd-10", "code": "Z34.0"}


def panel(client: Any) -> str:
    response = client.get("/p/prevention/panel", headers=HX)
    assert response.status_code == 200, response.text
    return unescape(response.text)


def item(text: str, rule: str = RSV) -> str | None:
    found = re.search(rf'<li class="fr-mb-2w" data-rule="{rule}">.*?</li>', text, re.S)
    return found.group(0) if found else None


def section_of(text: str, rule: str = RSV) -> str | None:
    """The panel's heading above the rule's line."""
    position = text.find(f'data-rule="{rule}"')
    if position < 0:
        return None
    return re.findall(r'<h3 class="fr-h6 fr-mb-1w">(.*?)</h3>', text[:position])[-1]


def listed(app: Any, doctor: Any, statuses: str = "") -> dict[str, Any]:
    with app.state.db.session() as session:
        patients = population.patients_of(session, doctor.id)
        rows = population.evaluate(session, engine_for(app.state.plugins), patients, ON,
                                   population.STATUS_FILTERS[statuses], RSV)
    return {row.patient.ins: row.outcome for row in rows}


def cds(client: Any, make_jwt: Any, conditions: list[dict[str, Any]] | None = None,
        immunizations: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    prefetch: dict[str, Any] = {"patient": NDIAYE.to_fhir_patient("p")}
    for key, resources in (("conditions", conditions), ("immunizations", immunizations)):
        if resources is not None:
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}
    body = {"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "hook": "patient-view",
            "context": {"userId": "PractitionerRole/x", "patientId": "p"}, "prefetch": prefetch}
    answer = client.post("/p/prevention/cds-services/bouquet-prevention", content=json.dumps(body).encode(),
                         headers={"Authorization": f"Bearer {make_jwt()}", "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    return answer.json()["cards"]


def rsv_cards(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [card for card in cards if "femme enceinte" in card["summary"]]


def pregnancy(onset: str | None = None, **extra: Any) -> dict[str, Any]:
    resource = {"resourceType": "Condition", "code": {"coding": [PREGNANT]},
                "clinicalStatus": {"coding": [{"code": "active"}]}, **extra}
    if onset is not None:
        resource["onsetDateTime"] = onset
    return resource


def events(app: Any, action: str) -> list[AuditEvent]:
    with app.state.db.session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all())


# --- (c) a professional's declaration -------------------------------------------------------------

def test_a_declared_pregnancy_with_its_term_everywhere(client: Any, app: Any, doctor: Any, today: date,
                                                      cds_client: str, make_jwt: Any) -> None:
    client.login(doctor)
    open_patient(client, NDIAYE)
    with app.state.db.write() as session:
        population.declare(session, doctor.id, [NDIAYE])
    assert item(panel(client)) is None and NDIAYE_INS not in listed(app, doctor, "upcoming")

    # Declared without its term: flu applies (a pregnancy), the RSV line asks for the term.
    assert client.submit("/p/prevention/conditions", {"condition": "grossesse", "source": "Interrogatoire"}
                         ).status_code == 303
    text = panel(client)
    line = item(text)
    assert section_of(text) == "À venir" and "Terme de la grossesse inconnu : à renseigner" in line
    assert 'data-testid="term-needed"' in line and "Fait aujourd'hui" not in line
    assert item(text, "grippe-risque") is not None
    assert "terme de la grossesse inconnu" in unescape(client.get("/p/prevention/conditions").text)
    assert listed(app, doctor, "upcoming")[NDIAYE_INS].reason == "term_unknown"
    [card] = rsv_cards(cds(client, make_jwt))
    assert card["indicator"] == "info" and "terme de la grossesse inconnu : à renseigner" in card["summary"]
    assert card["links"][0]["url"].endswith("/p/prevention/conditions")

    # Refused: every error beside its field, in French, what was typed kept, nothing stored.
    cases = [
        ({"pregnancy_start": (ON + timedelta(days=1)).isoformat()}, "pregnancy_start", "ne peut pas être dans le futur"),
        ({"pregnancy_start": "2025-01-10"}, "pregnancy_start", "serait terminée (terme prévu le 10/10/2025)"),
        ({"pregnancy_start": "31/02/2026"}, "pregnancy_start", "doit être une date (JJ/MM/AAAA)"),
        ({"due_date": "2027-09-01"}, "due_date", "à plus de 39 semaines"),
        ({"due_date": (ON - timedelta(days=14)).isoformat()}, "due_date", "passée de plus de deux semaines"),
        ({"pregnancy_start": START.isoformat(), "due_date": DUE.isoformat()}, "due_date", "pas les deux"),
    ]
    for typed, field, message in cases:
        refused = client.submit("/p/prevention/conditions", {"condition": "grossesse", "source": "CR", **typed})
        assert refused.status_code == 400, typed
        page = unescape(refused.text)
        assert f'id="{field}-error"' in page and message in page, (typed, page[-3000:])
        assert f'value="{typed[field]}"' in page
    diabetes = client.submit("/p/prevention/conditions", {"condition": "diabete", "source": "CR",
                                                           "due_date": DUE.isoformat()})
    assert diabetes.status_code == 400 and "ne s'indique qu'avec la condition « Grossesse en cours »" in unescape(
        diabetes.text)
    assert len(events(app, "prevention.condition_declared")) == 1

    # With its term (the expected delivery date): it replaces the undated declaration (audited).
    assert client.submit("/p/prevention/conditions", {"condition": "grossesse", "source": "Échographie T1",
                                                      "due_date": DUE.isoformat()}).status_code == 303
    [withdrawn] = events(app, "prevention.condition_withdrawn")
    assert withdrawn.details["reason"].startswith("Remplacée par la déclaration")
    declared = events(app, "prevention.condition_declared")[-1]
    assert declared.details["pregnancy_start"] == START.isoformat() and declared.details["typed"] == "due_date"
    page = unescape(client.get("/p/prevention/conditions").text)
    assert f"début le {START:%d/%m/%Y}, terme prévu le {DUE:%d/%m/%Y} (41 SA) ; 33 SA ce jour" in page
    text = panel(client)
    assert section_of(text) == "À faire" and f"à faire jusqu'au {DEADLINE} ; grossesse à 33 sa ce jour" in item(text).lower()
    [card] = rsv_cards(cds(client, make_jwt))
    assert card["indicator"] == "info" and DEADLINE in card["summary"]
    row = listed(app, doctor)[NDIAYE_INS]
    assert row.status.value == "due" and row.deadline == date(2026, 12, 25)
    html = unescape(client.get("/p/prevention/mes-patients", params={"rule": RSV}).text)
    assert "Ouvrir le dossier de N'DIAYE" in html and f"À faire jusqu'au {DEADLINE}" in html

    # A dose given during this pregnancy: done everywhere.
    assert client.submit("/p/prevention/acts", {"act_code": "VRS", "performed_on": ON.isoformat(),
                                                "decision": "confirm"}).status_code == 303
    text = panel(client)
    assert section_of(text) == "À jour" and "pendant cette grossesse" in item(text)
    assert rsv_cards(cds(client, make_jwt)) == [] and NDIAYE_INS not in listed(app, doctor)


def test_a_declared_pregnancy_is_over_two_weeks_after_its_expected_delivery(client: Any, app: Any, doctor: Any,
                                                                           today: date) -> None:
    client.login(doctor)
    open_patient(client, NDIAYE)
    with app.state.db.write() as session:
        population.declare(session, doctor.id, [NDIAYE])
    for start, pregnant in ((ON - timedelta(days=273 + 13), True), (ON - timedelta(days=273 + 14), False)):
        with app.state.db.write() as session:
            for row in session.exec(select(DeclaredCondition)).all():
                session.delete(row)
            session.add(DeclaredCondition(patient_ins=NDIAYE_INS, condition="grossesse", source="CR",
                                          declared_by_id=doctor.id, pregnancy_start=start))
        text = panel(client)
        # Still current at 42 SA + 6 j: flu applies, RSV says the weeks passed; over at 43 SA: neither.
        assert (item(text, "grippe-risque") is not None) is pregnant
        assert ("Pour information" in text and "nirsevimab" in (item(text) or "")) is pregnant
        page = unescape(client.get("/p/prevention/conditions").text)
        assert ("grossesse terminée, plus prise en compte" in page) is not pregnant
    # Over, the declaration does not stop a new pregnancy from being declared.
    assert client.submit("/p/prevention/conditions", {"condition": "grossesse", "source": "CR",
                                                      "pregnancy_start": START.isoformat()}).status_code == 303
    assert section_of(panel(client)) == "À faire"


# --- (b) the CDS Hooks prefetch -------------------------------------------------------------------

def test_a_pregnancy_condition_s_onset_in_the_prefetch(client: Any, today: date, cds_client: str,
                                                       make_jwt: Any) -> None:
    [card] = rsv_cards(cds(client, make_jwt, [pregnancy(START.isoformat())]))
    assert f"à faire jusqu'au {DEADLINE}" in card["summary"] and "Abrysvo" in card["detail"]
    assert "nirsevimab" in card["detail"] and "mesvaccins.net" in card["source"]["url"]
    # A dateTime onset, or an onsetPeriod, work the same; a date known only to the month does not date it.
    assert rsv_cards(cds(client, make_jwt, [pregnancy(f"{START.isoformat()}T09:30:00+02:00")]))[0]["indicator"] == "info"
    assert "à faire" in rsv_cards(cds(client, make_jwt, [pregnancy(onsetPeriod={"start": START.isoformat()})]))[0][
        "summary"]
    assert "terme de la grossesse inconnu" in rsv_cards(cds(client, make_jwt, [pregnancy("2026-04")]))[0]["summary"]
    assert "terme de la grossesse inconnu" in rsv_cards(cds(client, make_jwt, [pregnancy()]))[0]["summary"]
    # 31 SA + 6 j: no card yet (upcoming); a pregnancy over (its onset two years ago): nothing, flu neither.
    assert rsv_cards(cds(client, make_jwt, [pregnancy((START + timedelta(days=8)).isoformat())])) == []
    stale = cds(client, make_jwt, [pregnancy("2024-10-01")])
    assert rsv_cards(stale) == [] and not any("grippe" in c["summary"].lower() for c in stale)
    # A dose in a previous pregnancy does not count; one during this pregnancy does.
    earlier = {"resourceType": "Immunization", "status": "completed", "occurrenceDateTime": "2025-11-02",
               "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "305"}]}}
    assert len(rsv_cards(cds(client, make_jwt, [pregnancy(START.isoformat())], [earlier]))) == 1
    now = {**earlier, "occurrenceDateTime": ON.isoformat()}
    assert rsv_cards(cds(client, make_jwt, [pregnancy(START.isoformat())], [now])) == []


# --- (a) the practice software's launch -----------------------------------------------------------

@pytest.fixture
def local(make_app: Any) -> Any:
    """The portal at http://localhost (the OAuth server refuses plain http elsewhere)."""
    from bouquet.testing.fixtures import BouquetClient

    with BouquetClient(make_app(base_url="http://localhost"), base_url="http://localhost",
                       follow_redirects=False) as portal:
        yield portal


def launch(local: Any, doctor: Any, conditions: list[dict[str, str]]) -> None:
    from bouquet.api.oauth import register_client

    with local.app.state.db.write() as session:
        registered = register_client(session, name="Logiciel de cabinet", grant_types=["client_credentials"],
                                     scope="launch", redirect_uris=[])
        client_id, secret = registered.client.client_id, registered.secret
    token = local.post("/token", data={"grant_type": "client_credentials", "scope": "launch"},
                       auth=(client_id, secret)).json()["access_token"]
    patient = {**NDIAYE.to_dict(), "conditions": conditions}
    patient.pop("source", None)
    answer = local.post("/api/launch", json={"professional": doctor.idnat_ps, "patient": patient},
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 201, answer.text
    local.login(doctor)
    name, session_token = next(iter(local.cookies.keys())), local.session_token or ""
    local.cookies.clear()
    local.cookies.set(name, session_token, domain="localhost.local", path="/")
    opened = local.get(answer.json()["launch_url"].replace("http://localhost", ""))
    assert opened.status_code in (200, 303), opened.text[:300]


def test_the_launch_carries_the_expected_delivery_date(local: Any, doctor: Any, today: date) -> None:
    launch(local, doctor, [PREGNANT, {"system": DUE_SYSTEM, "code": DUE.isoformat()}])
    text = panel(local)
    # (The DMP plugin cannot read her record here: the line says « À vérifier — à faire jusqu'au … ».)
    assert section_of(text) == "À faire" and f"à faire jusqu'au {DEADLINE}" in item(text).lower()
    page = unescape(local.get("/p/prevention/conditions").text)
    assert f"début le {START:%d/%m/%Y}" in page and "transmis par votre logiciel métier" in page
    # The population view reads it from the stored context.
    assert listed(local.app, doctor)[NDIAYE_INS].status.value == "due"


def test_the_launch_carries_the_start_of_the_pregnancy_or_nothing(local: Any, doctor: Any, today: date) -> None:
    launch(local, doctor, [{"system": START_SYSTEM, "code": "avril"}])  # unreadable: a pregnancy, term unknown
    assert "Terme de la grossesse inconnu : à renseigner" in item(panel(local))
    launch(local, doctor, [{"system": START_SYSTEM, "code": (START + timedelta(days=8)).isoformat()}])
    text = panel(local)
    assert section_of(text) == "À venir" and "À partir du 29/11/2026" in item(text)  # 31 SA + 6 j
    assert NDIAYE_INS in listed(local.app, doctor, "upcoming")


# --- (d) another plugin ---------------------------------------------------------------------------

class MaternityRecord:
    """Another plugin that knows the pregnancy and its term, for one patient or a whole list."""

    from bouquet import hookimpl

    def __init__(self, answer: list[Any]) -> None:
        self.answer = answer

    @hookimpl
    def prevention_conditions(self, patient: Any) -> list[Any]:
        return self.answer if patient.ins.matricule == NDIAYE.ins.matricule else []

    @hookimpl
    def prevention_conditions_bulk(self, patients: list[Any]) -> dict[str, list[Any]]:
        return {f"{p.ins.oid}|{p.ins.matricule}": self.prevention_conditions(p) for p in patients}


@pytest.mark.parametrize(("answer", "section", "state", "status"), [
    ([{"code": "grossesse", "expected_delivery": DUE.isoformat()}], "À faire", f"À faire jusqu'au {DEADLINE}", "due"),
    ([{"code": "grossesse", "start": START.isoformat()}], "À faire", f"À faire jusqu'au {DEADLINE}", "due"),
    (["grossesse"], "À venir", "Terme de la grossesse inconnu", "upcoming"),
    ([{"code": "grossesse", "start": "bientôt"}], "À venir", "Terme de la grossesse inconnu", "upcoming"),
    ([{"code": "grossesse", "start": "2024-01-02"}], None, None, None),   # over: not pregnant any more
])
def test_another_plugin_s_pregnancy_and_its_term(make_app: Any, doctor: Any, today: date, answer: list[Any],
                                                  section: str | None, state: str | None, status: str | None) -> None:
    from bouquet.testing.fixtures import BouquetClient

    app = make_app(plugins="prevention", extra_plugins=[("maternity", MaternityRecord(answer))])
    with app.state.db.write() as session:
        population.declare(session, doctor.id, [NDIAYE])
    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as client:
        client.login(doctor)
        open_patient(client, NDIAYE)
        text = panel(client)
        assert section_of(text) == section and (state is None or state in item(text))
        # The population view asks prevention_conditions_bulk once for the list.
        html = unescape(client.get("/p/prevention/mes-patients", params={"rule": RSV, "status": "upcoming"
                                                                       if status == "upcoming" else ""}).text)
        assert ("Ouvrir le dossier de N'DIAYE" in html) is (status is not None)
