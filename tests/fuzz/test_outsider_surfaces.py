"""Fuzzing what an outsider reaches in the core: the OpenID provider, sign-in, the launch API, `/fhir`.

Properties (`bouquet.testing.fuzz`): no 5xx; a refusal changes nothing; the answer is in the content
type the caller asked for. A short deterministic run here, a long one with `make fuzz`.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from hypothesis import example, given
from hypothesis import strategies as st

from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.testing.fuzz import StateWatch, assert_sound, form_fields, fuzzing, json_values, mutated, query_params, text

AUTHORIZE_PARAMS = ["client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge",
                    "code_challenge_method", "prompt", "max_age", "login_hint", "acr_values", "launch", "aud",
                    "request", "response_mode", "id_token_hint", "claims", "iss"]
TOKEN_FIELDS = ["grant_type", "code", "redirect_uri", "code_verifier", "client_id", "client_secret", "scope",
                "refresh_token", "subject_token", "subject_token_type", "requested_token_type", "resource",
                "audience", "client_assertion", "client_assertion_type"]
HTML = {"Accept": "text/html,application/xhtml+xml"}
JSON = {"Accept": "application/json"}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode("utf-8", "surrogatepass")).decode()


@fuzzing
@given(params=query_params(AUTHORIZE_PARAMS), method=st.sampled_from(["GET", "POST"]))
@example(params=[("response_type", '"')], method="GET")  # found by this test: authlib's ValueError, a 500
def test_authorize(http: Any, software: Any, params: list[tuple[str, str]], method: str) -> None:
    params = [("client_id", software.client_id), *params] if len(params) % 2 else params
    with StateWatch(http.app) as watch:
        if method == "GET":
            response = http.get("/authorize", params=params, headers=HTML)
        else:
            response = http.post("/authorize", data=dict(params), headers=HTML)
    assert_sound(response, "html")
    watch.assert_unchanged("/authorize without a signed-in person")


@fuzzing
@given(fields=form_fields(TOKEN_FIELDS), auth=st.sampled_from(["none", "basic", "wrong", "garbage"]),
       grant=st.sampled_from(["client_credentials", "authorization_code", "refresh_token",
                              "urn:ietf:params:oauth:grant-type:token-exchange", "password", ""]))
def test_token(http: Any, software: Any, fields: dict[str, str], auth: str, grant: str) -> None:
    fields.setdefault("grant_type", grant)
    headers = {"basic": {"Authorization": _basic(software.client_id, software.secret)},
               "wrong": {"Authorization": _basic(software.client_id, "wrong")},
               "garbage": {"Authorization": "Basic %%%"}, "none": {}}[auth]
    with StateWatch(http.app) as watch:
        response = http.post("/token", data=fields, headers=headers)
    assert_sound(response, "oauth")
    if response.status_code >= 400:
        watch.assert_unchanged("/token")


@fuzzing
@given(token=text(), endpoint=st.sampled_from(["/userinfo", "/introspect", "/revoke"]), fields=form_fields(
    ["token", "token_type_hint", "client_id", "client_secret"]), authenticated=st.booleans())
def test_token_endpoints(http: Any, software: Any, token: str, endpoint: str, fields: dict[str, str],
                         authenticated: bool) -> None:
    headers = ({"Authorization": _basic(software.client_id, software.secret)} if authenticated and endpoint != "/userinfo"
               else {"Authorization": f"Bearer {token}".strip()} if token.isascii() and "\n" not in token else {})
    with StateWatch(http.app) as watch:
        if endpoint == "/userinfo":
            response = http.get(endpoint, headers=headers)
        else:
            response = http.post(endpoint, data={"token": token, **fields}, headers=headers)
    assert_sound(response, "oauth")
    if response.status_code >= 400:
        watch.assert_unchanged(endpoint)


@fuzzing
@given(fields=form_fields(["username", "password", "code", "next", "remember"]),
       path=st.sampled_from(["/login", "/login/second-factor", "/login/recovery"]))
def test_sign_in_forms(http: Any, doctor: Any, path: str, fields: dict[str, str]) -> None:
    http.cookies.clear()
    http.anonymous_session()
    with StateWatch(http.app) as watch:
        response = http.submit(path, fields, headers=HTML)
    assert_sound(response, "html")
    assert response.status_code != 303 or "/login" in response.headers["location"] or response.headers["location"].startswith(
        ("/enrol", "/login")), response.headers["location"]
    watch.assert_unchanged(path)


@fuzzing
@given(body=json_values(), path=st.sampled_from(["/login/passkey", "/login/passkey/options", "/login/webauthn",
                                                "/login/webauthn/options"]))
def test_passkey_endpoints(http: Any, path: str, body: Any) -> None:
    http.cookies.clear()
    http.anonymous_session()
    with StateWatch(http.app) as watch:
        response = http.post(path, json=body, headers={**JSON, "X-CSRF-Token": http.csrf_token})
    assert_sound(response, "json")
    if response.status_code >= 400:
        watch.assert_unchanged(path)


@fuzzing
@given(data=st.data())
def test_launch_api(http: Any, software: Any, doctor: Any, data: st.DataObject) -> None:
    patient = DEMO_PATIENTS[0].to_dict()
    patient.pop("source")
    body = data.draw(mutated({"professional": doctor.idnat_ps, "patient": patient, "encounter": {"id": "1"},
                              "return_url": "https://lgc.example/back"}))
    with StateWatch(http.app) as watch:
        response = http.post("/api/launch", json=body, headers={"Authorization": f"Bearer {software.token}"})
    assert_sound(response, "json")
    if response.status_code >= 400:
        watch.assert_unchanged("/api/launch")


@fuzzing
@given(resource=st.sampled_from(["Patient", "Practitioner", "metadata", ".well-known/smart-configuration", "Observation"]),
       ident=text(), token=text())
def test_fhir_facade(http: Any, software: Any, resource: str, ident: str, token: str) -> None:
    ident = quote(ident.encode("utf-8", "surrogatepass"), safe="")
    path = f"/fhir/{resource}" + (f"/{ident}" if resource in {"Patient", "Practitioner", "Observation"} else "")
    bearer = software.token if token == "" else token
    headers = {"Accept": "application/fhir+json"}
    if bearer.isascii() and "\n" not in bearer and "\r" not in bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    with StateWatch(http.app) as watch:
        response = http.get(path, headers=headers)
    assert_sound(response, "fhir")
    watch.assert_unchanged("/fhir")
