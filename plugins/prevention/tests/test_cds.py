"""The CDS Hooks 2.0 service: discovery, patient-view cards for a realistic request, feedback,
400 for malformed requests (naming the field), 401 for callers that are not authenticated."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from bouquet_prevention.cds_cards import CARD_NAMESPACE
from bouquet_prevention.cds_clients import disable_client
from bouquet_prevention.models import CdsFeedback, PreventionAct
from bouquet_prevention.testing import CDS_ENDPOINT, CDS_ISS, MARTIN, MARTIN_INS
from joserfc.jwk import ECKey, OctKey
from sqlmodel import select

from bouquet.api.audit import AuditEvent
from bouquet.api.patient import with_key

SERVICE = "/p/prevention/cds-services/bouquet-prevention"
HOOK_INSTANCE = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"
CVX = "http://hl7.org/fhir/sid/cvx"


def immunization(cvx: str, day: str, status: str = "completed") -> dict[str, Any]:
    return {"resource": {"resourceType": "Immunization", "status": status, "patient": {"reference": "Patient/pat-1"},
                         "vaccineCode": {"coding": [{"system": CVX, "code": cvx}]}, "occurrenceDateTime": day}}


def request_body() -> dict[str, Any]:
    """A patient-view request as a practice software sends it for MARTIN (66 on the pinned day)."""
    return {
        "hookInstance": HOOK_INSTANCE,
        "hook": "patient-view",
        "fhirServer": "https://lgc.example.fr/fhir",
        "context": {"userId": "PractitionerRole/dr-alice", "patientId": "pat-1"},
        "prefetch": {
            "patient": MARTIN.to_fhir_patient("pat-1"),
            "immunizations": {"resourceType": "Bundle", "type": "searchset", "entry": [
                immunization("197", "2025-11-02T10:30:00+01:00"),   # influenza, last season
                immunization("09", "2015-03-12"),                    # dTP at 54
                immunization("213", "2021-05-01"),                   # COVID-19, years ago: a new autumn dose is due
                immunization("187", "2026-01-10", status="entered-in-error"),
            ]},
            "procedures": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
                "resourceType": "Procedure", "status": "completed",
                "code": {"coding": [{"system": "urn:bouquet:prevention:act", "code": "mammographie"}]},
                "performedDateTime": "2023-05-10"}}]},
        },
    }


@pytest.fixture
def call(client: Any, cds_client: str, make_jwt: Callable[..., str], today: date) -> Callable[..., Any]:
    """POST a request to the service with a fresh JWT of the trusted client."""
    def post(body: Any = None, *, token: str | None = None, path: str = SERVICE, raw: bytes | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token or make_jwt()}", "Content-Type": "application/json"}
        content = raw if raw is not None else json.dumps(request_body() if body is None else body).encode()
        return client.post(path, content=content, headers=headers)

    return post


def events(app: Any, action: str) -> list[AuditEvent]:
    with app.state.db.session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all())


# --- discovery --------------------------------------------------------------------------------

def test_discovery_is_public_and_describes_the_service(client: Any) -> None:
    response = client.get("/p/prevention/cds-services")
    assert response.status_code == 200
    [service] = response.json()["services"]
    assert (service["id"], service["hook"]) == ("bouquet-prevention", "patient-view")
    assert service["description"] and service["title"]
    assert service["prefetch"] == {
        "patient": "Patient/{{context.patientId}}",
        "immunizations": "Immunization?patient={{context.patientId}}&status=completed",
        "procedures": "Procedure?patient={{context.patientId}}&status=completed",
        "conditions": "Condition?patient={{context.patientId}}&clinical-status=active",
    }


# --- cards ------------------------------------------------------------------------------------

def test_a_realistic_patient_view_request_gets_cards_overdue_first(call: Callable[..., Any], client: Any) -> None:
    response = call()
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    summaries = [card["summary"] for card in cards]
    # Recalls that are late first, then what was never done (« jamais réalisé », not « en retard
    # depuis » the day she turned 50), then what is due.
    assert summaries == [
        "Dépistage du cancer du sein (mammographie) : en retard depuis le 10/11/2025",
        "Rappel diphtérie-tétanos-poliomyélite (dTP) : en retard depuis le 02/10/2026",
        "Dépistage du cancer colorectal (test immunologique) : jamais réalisé — en retard",
        "Vaccination contre la Covid-19 (campagne d'automne) : à faire depuis le 15/10/2026",
        "Vaccination contre la grippe saisonnière : à faire depuis le 15/10/2026",
        "Vaccination contre le pneumocoque (VPC20, dose unique) : jamais réalisé — à faire",
        "Vaccination contre le zona (Shingrix, 2 doses) : jamais réalisé — à faire (dose 1 sur 2)",
    ]
    assert [card["indicator"] for card in cards] == ["warning"] * 3 + ["info"] * 4
    flu = cards[4]
    assert all(len(card["summary"]) < 140 for card in cards)
    assert flu["uuid"] == str(uuid.uuid5(CARD_NAMESPACE, f"{HOOK_INSTANCE}|grippe-65-ans|2025.1"))
    assert flu["source"]["label"] == ("Calendrier des vaccinations et recommandations vaccinales 2025, "
                                      "Ministère chargé de la santé, 2025")
    assert flu["source"]["url"].startswith("https://sante.gouv.fr/")
    assert flu["source"]["topic"] == {"system": "urn:bouquet:prevention:category", "code": "vaccination",
                                      "display": "Vaccination"}
    assert flu["links"] == [{"label": "Enregistrer l'acte dans Bouquet", "type": "absolute",
                             "url": "http://testserver/p/prevention/acts/new?rule=grippe-65-ans"}]
    assert "Dernier acte connu : 02/11/2025." in flu["detail"] and "règle grippe-65-ans, version 2025.1" in flu["detail"]
    [event] = events(client.app, "prevention.cds_patient_view")
    assert (event.patient_ins, event.actor, event.resource) == (MARTIN_INS, f"cds-client:{CDS_ISS}", "cds/bouquet-prevention")
    assert event.details == {"hook_instance": HOOK_INSTANCE, "user": "PractitionerRole/dr-alice", "cards": 7,
                             "acts_received": 4, "client": "Logiciel de cabinet de test"}


def test_acts_recorded_in_bouquet_count_too(call: Callable[..., Any], client: Any) -> None:
    with client.app.state.db.write() as session:
        session.add(PreventionAct(patient_ins=MARTIN_INS, act_code="grippe", performed_on=date(2026, 11, 2)))
        session.add(PreventionAct(patient_ins="1.2.250.1.213.1.4.10|someone-else", act_code="zona-Shingrix",
                                  performed_on=date(2026, 1, 2)))
    summaries = [card["summary"] for card in call().json()["cards"]]
    assert not any("grippe" in summary for summary in summaries)
    assert any("zona" in summary for summary in summaries)


def test_the_request_may_come_with_a_browser_session_cookie(call: Callable[..., Any], client: Any, doctor: Any) -> None:
    client.login(doctor)  # a browser-based CDS client on the same site: no CSRF token, its JWT suffices
    assert call().status_code == 200


def test_an_up_to_date_patient_gets_no_card(call: Callable[..., Any]) -> None:
    body = request_body()
    body["prefetch"]["patient"] = {"resourceType": "Patient", "id": "pat-1", "gender": "male", "birthDate": "1985-05-12",
                                   "identifier": [{"system": "urn:oid:1.2.250.1.213.1.4.10",
                                                   "value": with_key("1850578006084")}]}
    body["prefetch"]["immunizations"]["entry"] = [immunization("09", "2010-06-01"),  # dTP at 25
                                                  immunization("03", "1986-06-01"), immunization("03", "1990-06-01")]
    body["prefetch"]["procedures"] = None  # a prefetch the client could not satisfy
    response = call(body)
    assert response.status_code == 200 and response.json() == {"cards": []}


def test_an_unknown_service_is_404(call: Callable[..., Any]) -> None:
    assert call(path="/p/prevention/cds-services/autre-service").status_code == 404


# --- malformed requests -----------------------------------------------------------------------

def mutate(path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(request_body())
    *parents, last = path.split(".")
    target: Any = body
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is KeyError:
        del target[last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return body


@pytest.mark.parametrize(("body", "field", "words"), [
    (mutate("hook", "order-select"), "hook", "patient-view"),
    (mutate("hookInstance", "pas-un-uuid"), "hookInstance", "UUID"),
    (mutate("context", KeyError), "context", "obligatoire"),
    (mutate("context.patientId", KeyError), "context.patientId", "obligatoire"),
    (mutate("context.userId", ""), "context.userId", "obligatoire"),
    (mutate("prefetch.patient", KeyError), "prefetch.patient", "Patient préchargée"),
    (mutate("prefetch.patient.resourceType", "Practitioner"), "prefetch.patient.resourceType", "Patient"),
    (mutate("prefetch.patient.id", "pat-2"), "prefetch.patient.id", "context.patientId"),
    (mutate("prefetch.patient.birthDate", "1960"), "prefetch.patient.birthDate", "AAAA-MM-JJ"),
    (mutate("prefetch.patient.gender", "femme"), "prefetch.patient.gender", "male, female"),
    (mutate("prefetch.patient.gender", "male"), "prefetch.patient.gender", "matricule INS"),
    (mutate("prefetch.patient.birthDate", "1961-10-02"), "prefetch.patient.birthDate", "matricule INS"),
    (mutate("prefetch.patient.identifier", []), "prefetch.patient.identifier", "Aucun identifiant INS"),
    (mutate("prefetch.patient.identifier.0.value", "260106912304599"), "prefetch.patient.identifier[0].value", "clé"),
    (mutate("prefetch.immunizations", {"resourceType": "Immunization"}), "prefetch.immunizations.resourceType", "Bundle"),
    (mutate("prefetch.immunizations.entry", {"resource": {}}), "prefetch.immunizations.entry", "liste"),
    (mutate("prefetch.immunizations.entry.0", {"resource": {"resourceType": "Observation"}}),
     "prefetch.immunizations.entry[0].resource.resourceType", "Immunization"),
    (mutate("prefetch.immunizations.entry.1.resource.occurrenceDateTime", "hier"),
     "prefetch.immunizations.entry[1].resource.occurrenceDateTime", "Date FHIR invalide"),
    (mutate("prefetch.immunizations.entry.1.resource.vaccineCode", {"text": "DTP"}),
     "prefetch.immunizations.entry[1].resource.vaccineCode.coding", "coding"),
    (mutate("prefetch.procedures.entry.0.resource.performedDateTime", "2023-13-45"),
     "prefetch.procedures.entry[0].resource.performedDateTime", "Date FHIR invalide"),
    (["not", "an", "object"], "(body)", "objet JSON"),
])
def test_a_malformed_request_is_refused_with_400_naming_the_field(call: Callable[..., Any], client: Any,
                                                                  body: Any, field: str, words: str) -> None:
    response = call(body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert (answer["error"], answer["field"]) == ("invalid_request", field)
    assert words in answer["reason"]
    assert events(client.app, "prevention.cds_patient_view") == []


def test_a_body_that_is_not_json_is_refused(call: Callable[..., Any]) -> None:
    response = call(raw=b"{hook: patient-view")
    assert response.status_code == 400 and response.json()["field"] == "(body)"


# --- authentication ---------------------------------------------------------------------------

def test_without_a_token_the_caller_is_refused_before_the_body_is_read(client: Any, cds_client: str) -> None:
    response = client.post(SERVICE, content=b"not even json", headers={"Content-Type": "application/json"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_request"
    assert response.headers["www-authenticate"].startswith('Bearer realm="bouquet-prevention"')


@pytest.mark.parametrize(("claims", "words"), [
    ({"exp_in": -120}, "expiré"),
    ({"exp_in": 3600}, "trop longtemps"),
    ({"iat_in": 600, "exp_in": 700}, "futur"),
    ({"aud": "https://autre.example/cds-services/bouquet-prevention"}, "aud"),
    ({"aud": [CDS_ENDPOINT + "/feedback"]}, "aud"),
    ({"iss": "https://inconnu.example"}, "Client CDS inconnu"),
    ({"jti": ""}, "jti"),
])
def test_a_bad_jwt_is_refused_with_401(call: Callable[..., Any], make_jwt: Callable[..., str],
                                       claims: dict[str, Any], words: str) -> None:
    response = call(token=make_jwt(**claims))
    assert response.status_code == 401, response.text
    assert words in response.json()["reason"]


def test_a_list_audience_naming_the_service_is_accepted(call: Callable[..., Any], make_jwt: Callable[..., str]) -> None:
    assert call(token=make_jwt(aud=[CDS_ENDPOINT])).status_code == 200


def test_a_jwt_signed_by_another_key_is_refused(call: Callable[..., Any], make_jwt: Callable[..., str]) -> None:
    impostor = ECKey.generate_key("P-384", parameters={"kid": "lgc-2026"})
    response = call(token=make_jwt(key=impostor))
    assert response.status_code == 401 and "Signature du JWT refusée" in response.json()["reason"]


def test_a_symmetric_algorithm_is_refused(call: Callable[..., Any], make_jwt: Callable[..., str]) -> None:
    shared = OctKey.generate_key(256, parameters={"kid": "lgc-2026"})
    assert call(token=make_jwt(key=shared, alg="HS256")).status_code == 401


def test_a_token_that_is_not_a_jwt_is_refused(call: Callable[..., Any]) -> None:
    response = call(token="opaque-access-token")
    assert response.status_code == 401 and "JWT" in response.json()["reason"]


def test_a_replayed_jwt_is_refused(call: Callable[..., Any], make_jwt: Callable[..., str]) -> None:
    token = make_jwt(jti="jti-une-seule-fois")
    assert call(token=token).status_code == 200
    replay = call(token=token)
    assert replay.status_code == 401 and "déjà été utilisé" in replay.json()["reason"]


def test_a_disabled_client_is_refused(call: Callable[..., Any], client: Any) -> None:
    assert disable_client(client.app.state.db, CDS_ISS)
    assert call().status_code == 401


# --- feedback ---------------------------------------------------------------------------------

def test_feedback_is_stored(call: Callable[..., Any], make_jwt: Callable[..., str], client: Any) -> None:
    feedback = {"feedback": [
        {"card": "4e0a3a1e-3283-4575-ab82-028d55fe2719", "outcome": "accepted",
         "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}], "outcomeTimestamp": "2026-11-28T09:00:00Z"},
        {"card": "9368d37b-283f-44a0-93ea-547cebab93ed", "outcome": "overridden",
         "overrideReason": {"reason": {"code": "refus", "system": "https://lgc.example.fr/reasons"},
                            "userComment": "Patient refuse"}, "outcomeTimestamp": "2026-11-28T09:01:00+00:00"},
    ]}
    response = call(feedback, path=f"{SERVICE}/feedback", token=make_jwt(aud=CDS_ENDPOINT + "/feedback"))
    assert response.status_code == 200
    with client.app.state.db.session() as session:
        rows = session.exec(select(CdsFeedback).order_by(CdsFeedback.id)).all()
    assert [(r.card[:8], r.outcome, r.accepted_suggestions, r.iss) for r in rows] == [
        ("4e0a3a1e", "accepted", ["e56e1945-20b3-4393-8503-a1a20fd73152"], CDS_ISS),
        ("9368d37b", "overridden", [], CDS_ISS)]
    assert rows[1].override_reason["userComment"] == "Patient refuse"


@pytest.mark.parametrize(("feedback", "field"), [
    ({}, "feedback"),
    ({"feedback": [{"outcome": "accepted"}]}, "feedback[0].card"),
    ({"feedback": [{"card": "c1", "outcome": "ignored", "outcomeTimestamp": "2026-11-28T09:00:00Z"}]}, "feedback[0].outcome"),
    ({"feedback": [{"card": "c1", "outcome": "accepted", "outcomeTimestamp": "2026-11-28T09:00:00Z"}]},
     "feedback[0].acceptedSuggestions"),
    ({"feedback": [{"card": "c1", "outcome": "overridden", "outcomeTimestamp": "hier"}]}, "feedback[0].outcomeTimestamp"),
])
def test_malformed_feedback_is_refused_with_400(call: Callable[..., Any], feedback: Any, field: str) -> None:
    response = call(feedback, path=f"{SERVICE}/feedback")
    assert response.status_code == 400 and response.json()["field"] == field


def test_feedback_needs_a_valid_jwt(call: Callable[..., Any], make_jwt: Callable[..., str]) -> None:
    feedback = {"feedback": [{"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2026-11-28T09:00:00Z"}]}
    assert call(feedback, path=f"{SERVICE}/feedback", token=make_jwt(exp_in=-300)).status_code == 401


def test_deeply_nested_json_is_refused_with_400(call: Callable[..., Any], client: Any) -> None:
    # Issue 13, item 4: deep nesting gave a 500 (RecursionError).
    response = call(raw=b"[" * 100_000 + b"]" * 100_000)
    assert response.status_code == 400 and response.json()["field"] == "(body)"
    assert "trop imbriqué" in response.json()["reason"]
    feedback = call(raw=b'{"feedback": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", path=SERVICE + "/feedback")
    assert feedback.status_code == 400 and "trop imbriqué" in feedback.json()["reason"]
    assert events(client.app, "prevention.cds_patient_view") == []
    cards = call()  # the corrected request
    assert cards.status_code == 200
    assert cards.headers["cache-control"] == "no-store"  # cards about a patient (issue 13, item 10)
