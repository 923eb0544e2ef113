"""The rest of the authentication request: `login_hint`, `ui_locales`, the POST form of `/authorize`,
and consent decisions in the audit trail."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlmodel import select

from bouquet.foundation.audit import AuditEvent
from bouquet.testing.oidc import query_of
from bouquet.web.sessions import WebSession


def _consent_query(page: str) -> str:
    match = re.search(r'name="query" value="([^"]*)"', page)
    assert match, page[:300]
    return html.unescape(match.group(1))


def test_login_hint_prefills_the_sign_in_page(portal, browsers, make_rp, make_account):
    make_account(username="jean.martin")
    rp = make_rp()
    browser = browsers()
    asked = browser.get(rp.authorization_url(login_hint="Jean.Martin"))
    assert asked.status_code == 303
    location = asked.headers["location"]
    assert location.startswith("/login?next=") and parse_qs(urlsplit(location).query)["login_hint"] == ["Jean.Martin"]
    page = browser.get(location)
    assert re.search(r'name="username"[^>]*value="jean.martin"', page.text)


def test_login_hint_naming_someone_else(portal, browsers, make_rp, make_account):
    doctor = make_account(username="jean.martin")
    make_account(username="lea.durand")
    rp = make_rp()
    browser = browsers().sign_in(doctor)
    # The signed-in person is named (by identifier or IdNat_PS): the code is issued.
    for hint in ("jean.martin", doctor.idnat_ps):
        assert "code" in query_of(browser.get(rp.authorization_url(login_hint=hint)).headers["location"])
    # Someone else: prompt=none answers login_required; otherwise the person chooses.
    silent = browser.get(rp.authorization_url(login_hint="lea.durand", prompt="none"))
    assert query_of(silent.headers["location"])["error"] == "login_required"
    asked = browser.get(rp.authorization_url(login_hint="lea.durand"))
    assert asked.status_code == 200 and "Changer de compte ?" in asked.text and "lea.durand" in asked.text
    go_on = html.unescape(re.search(r'href="(/authorize\?[^"]+)"', asked.text).group(1))
    assert "login_hint" not in go_on and "code" in query_of(browser.get(go_on).headers["location"])

    switched = browser.post("/authorize/switch-account", {"query": _consent_query(asked.text)})
    assert switched.status_code == 303
    target = switched.headers["location"]
    assert target.startswith("/login?next=%2Fauthorize%3F") and target.endswith("&login_hint=lea.durand")
    assert "login_hint%3Dlea.durand" in target and "bq_reauth%3D" in target  # the request goes on, the hint with it
    with portal.db.session() as session:
        ended = session.get(WebSession, browser.session_row.id)
    assert ended.ended_at is not None and ended.ended_reason == "logout"


def test_ui_locales_is_accepted_and_the_pages_stay_in_french(portal, browsers, make_rp, make_account):
    rp = make_rp(first_party=False)
    browser = browsers().sign_in(make_account())
    for locales in ("en-US de", "fr-FR en"):
        page = browser.get(rp.authorization_url(ui_locales=locales))
        assert page.status_code == 200 and '<html lang="fr"' in page.text and "Autoriser" in page.text
    metadata = httpx.get(f"{portal.url}/.well-known/openid-configuration").json()
    assert metadata["ui_locales_supported"] == ["fr-FR"]


def test_consent_given_refused_and_withdrawn_are_audited(portal, browsers, make_rp, make_account):
    doctor = make_account()
    rp = make_rp(first_party=False, scope="openid profile")
    browser = browsers().sign_in(doctor)
    refused = browser.post("/authorize/consent", {"decision": "deny", "query": _consent_query(
        browser.get(rp.authorization_url()).text)})
    assert query_of(refused.headers["location"])["error"] == "access_denied"
    allowed = browser.post("/authorize/consent", {"decision": "allow", "query": _consent_query(
        browser.get(rp.authorization_url()).text)})
    assert "code" in query_of(allowed.headers["location"])
    withdrawn = browser.post(f"/account/applications/{rp.client_id}/revoke", {})
    assert withdrawn.status_code == 303
    with portal.db.session() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action.like("oidc.consent_%"))
                              .order_by(AuditEvent.seq)).all()
    assert [event.action for event in events] == ["oidc.consent_refused", "oidc.consent_granted", "oidc.consent_revoked"]
    assert all(event.actor == doctor.label and event.resource == f"client:{rp.client_id}" for event in events)
    assert events[1].details == {"scope": "openid profile"}


def test_authorization_requests_may_be_posted_by_another_site(portal, browsers, make_rp, make_account):
    rp = make_rp()
    browser = browsers().sign_in(make_account())
    params = {key: values[0] for key, values in parse_qs(urlsplit(rp.authorization_url()).query).items()}
    client_origin = "http://localhost:9"
    from bouquet.web.sessions import cookie_name

    # With the session cookie (a same-site form, or a browser sending it): answered at once.
    posted = browser.http.post("/authorize", data=params, headers={
        "Origin": client_origin, "Cookie": f"{cookie_name(False)}={browser.token}", "Accept": "text/html"})
    assert posted.status_code == 302 and "code" in query_of(posted.headers["location"])
    # Without it (a SameSite=Lax cookie stays home on a cross-site POST): the same request as a GET.
    params["nonce"] += "-2"
    bare = httpx.post(f"{portal.url}/authorize", data=params, headers={"Origin": client_origin}, follow_redirects=False)
    assert bare.status_code == 303 and bare.headers["location"].startswith("/authorize?")
    again = browser.get(bare.headers["location"])
    assert again.status_code == 302 and "code" in query_of(again.headers["location"])
    # The consent form keeps its CSRF token and origin check.
    forged = httpx.post(f"{portal.url}/authorize/consent", data={"decision": "allow", "query": ""},
                        headers={"Origin": client_origin, "Cookie": f"{cookie_name(False)}={browser.token}"})
    assert forged.status_code == 403
