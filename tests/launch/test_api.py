"""`POST /api/launch`: the contract a practice software relies on, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

from sqlmodel import func, select

from bouquet.patient.context import PatientContextRecord
from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.patient.launch import LaunchHandle
from bouquet.sso.accounts import luhn_key
from bouquet.testing.signin import audit_actions


def _count(app, table) -> int:
    with app.state.db.session() as session:
        return session.exec(select(func.count()).select_from(table)).one()


def test_a_launch_is_created_with_a_single_use_link_stored_hashed(app, launcher, doctor):
    patient = DEMO_PATIENTS[3]
    response = launcher.post(launcher.body(doctor.idnat_ps, patient, encounter="VENUE-2026-42",
                                           return_url="https://lgc.example/dossier/42"))
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    answer = response.json()
    assert answer["expires_in"] == 300
    url = urlsplit(answer["launch_url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "http://localhost/launch"
    handle = parse_qs(url.query)["launch"][0]
    assert len(handle) >= 43  # 256 random bits

    with app.state.db.session() as session:
        row = session.exec(select(LaunchHandle)).one()
    assert row.handle_hash == hashlib.sha256(handle.encode()).hexdigest()
    assert handle not in repr(row.model_dump())
    assert row.client_id == launcher.client_id and row.professional == doctor.idnat_ps
    assert row.patient["ins"] == patient.ins.matricule and row.patient["birth_name"] == "SANTONI"
    assert row.encounter == "VENUE-2026-42" and row.return_url == "https://lgc.example/dossier/42"
    assert (row.expires_at - row.created_at).total_seconds() == 300
    assert row.consumed_at is None
    assert audit_actions(app)[-1] == "launch.created"


def test_the_handle_lifetime_is_a_setting(make_app, launcher, doctor):
    from bouquet.testing.fixtures import BouquetClient

    shorter = make_app(base_url="http://localhost", launch_handle_seconds=90)  # another worker on the same database
    with BouquetClient(shorter, base_url="http://localhost") as http:
        response = http.post("/api/launch", json=launcher.body(doctor.idnat_ps),
                             headers={"Authorization": f"Bearer {launcher.token}"})
    assert response.status_code == 201, response.text
    assert response.json()["expires_in"] == 90


def test_each_bad_value_is_refused_naming_its_field_and_nothing_is_stored(app, launcher, doctor, make_account):
    good = launcher.body(doctor.idnat_ps)
    nurse_body = "1000000777"
    other = "8" + nurse_body + luhn_key(nurse_body)  # well formed, but nobody's
    secretary = make_account(kind="secretary")
    wrong_key = good["patient"]["ins"][:13] + f"{(int(good['patient']['ins'][13:]) % 97) + 1:02d}"
    cases = [
        ({**good, "patient": {**good["patient"], "ins": wrong_key}}, "patient.ins", "bad_key"),
        ({**good, "patient": {**good["patient"], "oid": "1.2.250.1.213.1.4.99"}}, "patient.oid", "unknown_oid"),
        ({**good, "patient": {**good["patient"], "birth_date": "1960-02-30"}}, "patient.birth_date", "impossible_date"),
        ({**good, "patient": {**good["patient"], "sex": "X"}}, "patient.sex", "bad_value"),
        ({**good, "patient": {**good["patient"], "birth_name": ""}}, "patient.birth_name", "missing"),
        ({**good, "patient": {**good["patient"], "birthplace": "7505"}}, "patient.birthplace", "bad_format"),
        ({**good, "patient": None}, "patient", "missing"),
        ({**good, "patient": {k: v for k, v in good["patient"].items() if k != "identity_status"}},
         "patient.identity_status", "missing"),
        ({**good, "patient": {**good["patient"], "identity_status": "verifiee"}}, "patient.identity_status", "bad_value"),
        ({**good, "professional": other}, "professional", "unknown"),
        ({**good, "professional": "8" + "1" * 11}, "professional", "bad_format"),
        ({**good, "professional": secretary.username}, "professional", "bad_format"),
        ({k: v for k, v in good.items() if k != "professional"}, "professional", "missing"),
        ({**good, "encounter": "x" * 300}, "encounter", "too_long"),
        ({**good, "return_url": "https://ailleurs.example/"}, "return_url", "foreign_origin"),
        ({**good, "return_url": "javascript:alert(1)"}, "return_url", "foreign_origin"),
        ([good], "body", "wrong_type"),
    ]
    for body, field, code in cases:
        response = launcher.post(body)
        assert response.status_code == 400, (field, response.text)
        answer = response.json()
        assert (answer["field"], answer["code"]) == (field, code), answer
        assert answer["error"] == "invalid_request"
        assert answer["message"] and answer["message"][0].isupper()
    # The French messages name the field's meaning.
    assert "clé" in launcher.post(cases[0][0]).json()["message"]
    assert "n'existe pas" in launcher.post(cases[2][0]).json()["message"]
    response = launcher.client.post("/api/launch", content=b"{not json", headers={
        "Authorization": f"Bearer {launcher.token}", "Content-Type": "application/json"})
    assert (response.status_code, response.json()["field"], response.json()["code"]) == (400, "body", "bad_json")

    assert _count(app, LaunchHandle) == 0
    assert _count(app, PatientContextRecord) == 0
    refused = [action for action in audit_actions(app) if action == "launch.refused"]
    assert len(refused) == len(cases) + 3


def test_the_client_must_present_a_token_with_the_launch_scope(app, launcher, doctor):
    body = launcher.body(doctor.idnat_ps)
    missing = launcher.post(body, token=None)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith('Bearer realm="bouquet"')
    bad = launcher.post(body, token="not-a-token")
    assert (bad.status_code, bad.json()["error"]) == (401, "invalid_token")
    narrow = launcher.post(body, token=launcher.token_for("profile"))
    assert (narrow.status_code, narrow.json()["error"]) == (403, "insufficient_scope")
    assert 'scope="launch"' in narrow.headers["www-authenticate"]
    assert _count(app, LaunchHandle) == 0


def test_deeply_nested_json_is_refused_then_the_corrected_request_passes(app, launcher, doctor):
    # Issue 13, item 4: deep nesting gave a 500 (RecursionError); now a 400 naming the body.
    auth = {"Authorization": f"Bearer {launcher.token}", "Content-Type": "application/json"}
    deep = launcher.client.post("/api/launch", content=b"[" * 8_000 + b"]" * 8_000, headers=auth)
    assert deep.status_code == 400
    assert (deep.json()["field"], deep.json()["code"]) == ("body", "too_deep")
    assert "trop imbriqué" in deep.json()["message"]
    nested: object = 1
    for _ in range(40):  # valid JSON, but deeper than the 32 levels allowed
        nested = [nested]
    assert launcher.post(launcher.body(doctor.idnat_ps, encounter={"a": nested})).json()["code"] == "too_deep"
    assert _count(app, LaunchHandle) == 0
    assert launcher.launch_url(doctor.idnat_ps).startswith("http://localhost/launch?launch=")


def test_a_launch_without_the_identity_status_is_refused_then_accepted_once_sent(app, launcher, doctor):
    body = launcher.body(doctor.idnat_ps)
    del body["patient"]["identity_status"]
    refused = launcher.post(body)
    assert refused.status_code == 400
    assert refused.json()["field"] == "patient.identity_status" and "statut de l'identité" in refused.json()["message"]
    assert _count(app, LaunchHandle) == 0
    body["patient"]["identity_status"] = "provisoire"
    accepted = launcher.post(body)
    assert accepted.status_code == 201, accepted.text
    assert _count(app, LaunchHandle) == 1
