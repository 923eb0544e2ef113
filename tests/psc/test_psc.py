"""Signing in through Pro Santé Connect, against the PSC stand-in (`bouquet.testing.psc`): linking by
IdNat, creating accounts, the failure cases (PSC down, a bad signature, a wrong `acr`, an unknown
IdNat), the PSC tokens kept sealed and handed to plugins, and logout both ways."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select
from starlette.responses import JSONResponse
from starlette.routing import Route

from bouquet import hookimpl
from bouquet.api.psc import psc_access_token
from bouquet.api.web import get_context
from bouquet.foundation.audit import AuditEvent
from bouquet.foundation.db import utcnow
from bouquet.sso.accounts import Account
from bouquet.sso.passwords import hash_password
from bouquet.sso.psc import tokens
from bouquet.sso.psc.models import PscIdentity, PscSession
from bouquet.testing.oidc import Portal, make_relying_party, query_of
from bouquet.testing.psc import PscStandin, psc_userinfo
from bouquet.web import csrf
from bouquet.web.sessions import WebSession, cookie_name, hash_token

IDNAT = "810000123454"  # a valid IdNat: 8 + an RPPS number with its Luhn key


class _PscProbe:
    """A plugin calling an API « Pro Santé Connectée »: it only needs the professional's PSC token."""

    @hookimpl
    def bouquet_routes(self) -> list[Route]:
        async def token(request: Any) -> JSONResponse:
            return JSONResponse({"token": await psc_access_token(get_context(request))})

        return [Route("/token", token)]


@pytest.fixture
def standin() -> Iterator[PscStandin]:
    psc = PscStandin().start()
    yield psc
    psc.stop()


@pytest.fixture
def psc_portal(make_live_server, standin: PscStandin) -> Iterator[Any]:
    def make(**settings: Any) -> Portal:
        server = make_live_server(extra_plugins=[("psctest", _PscProbe())], **standin.settings(**settings))
        return Portal(server.url, server.app)

    yield make


def _http(portal: Portal) -> httpx.Client:
    return httpx.Client(base_url=portal.url, follow_redirects=False, timeout=20, headers={"Accept": "text/html"})


def _sign_in_with_psc(portal: Portal, standin: PscStandin, http: httpx.Client, next_url: str = "/") -> httpx.Response:
    """The button, PSC's page approved, and the callback: Bouquet's answer to the callback."""
    start = http.get("/login/psc", params={"next": next_url})
    assert start.status_code == 303, start.text[:300]
    assert start.headers["location"].startswith(standin.issuer + "/protocol/openid-connect/auth?")
    asked = query_of(start.headers["location"])
    assert asked["acr_values"] == "eidas1" and asked["code_challenge_method"] == "S256"
    assert asked["scope"] == "openid scope_all" and asked["redirect_uri"] == portal.url + "/login/psc/callback"
    return http.get(standin.authorize(start.headers["location"]))


def _events(portal: Portal, action: str) -> list[AuditEvent]:
    with portal.db.session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all())


def _live_sessions(portal: Portal, account_id: int) -> int:
    with portal.db.session() as session:
        return len(session.exec(select(WebSession).where(WebSession.account_id == account_id,
                                                         WebSession.ended_at.is_(None))).all())  # type: ignore[union-attr]


def test_a_known_professional_signs_in_with_psc_without_a_second_factor_and_is_linked(
        psc_portal, standin, make_account):
    portal = psc_portal()
    doctor = make_account(idnat_ps=IDNAT, given_name="Jean", family_name="MARTIN")
    standin.identity = psc_userinfo(IDNAT, "Jean", "MARTIN")
    with _http(portal) as http:
        login_page = http.get("/login")
        assert "Se connecter avec Pro Santé Connect" in login_page.text

        callback = _sign_in_with_psc(portal, standin, http, next_url="/")
        assert callback.status_code == 303 and callback.headers["location"] == "/"
        home = http.get("/", follow_redirects=True)
        assert home.status_code == 200 and "MARTIN" in home.text
        assert all("second-factor" not in str(step.url) and "/enrol" not in str(step.url) for step in home.history)

        # A relying party of Bouquet sees the PSC sign-in: both factors, PSC's level carried.
        rp = make_relying_party(portal, scope="openid scope_all")
        try:
            token = rp.exchange(http.get(rp.authorization_url()).headers["location"])
        finally:
            rp.oauth.close()
        claims = portal.id_claims(token["id_token"], rp.client_id, nonce=rp.nonce)
        assert claims["sub"] == IDNAT and claims["acr"] == "eidas1"
        assert set(claims["amr"]) == {"psc", "sc", "mfa"}
        assert claims["Palier_Authentification"] == "APPPRIP3^1.2.250.1.213.1.5.1.1.1"

    with portal.db.session() as session:
        link = session.exec(select(PscIdentity)).one()
        row = session.exec(select(PscSession)).one()
    assert link.account_id == doctor.id and link.subject_name_id == IDNAT
    assert link.psc_sub == "f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:" + IDNAT
    [linked] = _events(portal, "signin.psc_linked")
    assert linked.resource == f"account:{doctor.id}"
    assert [event.details["method"] for event in _events(portal, "signin.success")] == ["psc"]
    # Sealed at rest: the access token is not in the row, and only this session's sid opens it.
    opened = tokens.unseal(portal.app.state.settings, row.sid, row.sealed)
    assert opened is not None and opened["access_token"] not in row.sealed
    assert tokens.unseal(portal.app.state.settings, "another-sid", row.sealed) is None
    assert row.access_expires_at - utcnow() <= timedelta(seconds=120)


def test_plugins_get_the_psc_access_token_refreshed_when_it_expires(psc_portal, standin, make_account):
    portal = psc_portal()
    make_account(idnat_ps=IDNAT)
    standin.identity = psc_userinfo(IDNAT, "Jean", "MARTIN")
    with _http(portal) as http:
        _sign_in_with_psc(portal, standin, http)
        http.get("/", follow_redirects=True)
        first = http.get("/p/psctest/token", headers={"Accept": "application/json"}).json()["token"]
        assert httpx.get(f"{standin.issuer}/protocol/openid-connect/userinfo",
                         headers={"Authorization": f"Bearer {first}"}).json()["SubjectNameID"] == IDNAT
        with portal.db.write() as session:  # two minutes later
            row = session.exec(select(PscSession)).one()
            row.access_expires_at = utcnow() - timedelta(seconds=1)
            session.add(row)
        renewed = http.get("/p/psctest/token", headers={"Accept": "application/json"}).json()["token"]
        assert renewed and renewed != first
        assert httpx.get(f"{standin.issuer}/protocol/openid-connect/userinfo",
                         headers={"Authorization": f"Bearer {renewed}"}).status_code == 200
        assert http.get("/p/psctest/token", headers={"Accept": "application/json"}).json()["token"] == renewed


def test_signing_out_ends_the_psc_session_and_forgets_the_tokens(psc_portal, standin, make_account):
    portal = psc_portal()
    doctor = make_account(idnat_ps=IDNAT)
    standin.identity = psc_userinfo(IDNAT, "Jean", "MARTIN")
    with _http(portal) as http:
        _sign_in_with_psc(portal, standin, http)
        http.get("/", follow_redirects=True)
        [psc_sid] = standin.sessions
        cookie = http.cookies.get(cookie_name(False))
        out = http.post("/logout", data={csrf.FIELD: csrf.token_for(portal.app.state.csrf_key, hash_token(cookie))})
        assert out.status_code == 200 and 'http-equiv="refresh"' in out.text
        target = html.unescape(re.search(r'data-testid="psc-logout" href="([^"]+)"|href="([^"]+)" data-testid="psc-logout"',
                                         out.text).group(2))
        assert target.startswith(standin.issuer + "/protocol/openid-connect/logout?")
        assert query_of(target)["post_logout_redirect_uri"] == portal.url + "/login?deconnecte"
        back = httpx.get(target)
        assert back.status_code == 302 and back.headers["location"].startswith(portal.url + "/login?deconnecte")
    assert standin.sessions[psc_sid]["ended"] is True
    assert _live_sessions(portal, doctor.id) == 0
    with portal.db.session() as session:
        assert session.exec(select(PscSession)).first() is None


def test_psc_back_channel_logout_ends_the_bouquet_session(psc_portal, standin, make_account):
    portal = psc_portal()
    doctor = make_account(idnat_ps=IDNAT)
    standin.identity = psc_userinfo(IDNAT, "Jean", "MARTIN")
    uri = portal.url + "/login/psc/backchannel-logout"
    with _http(portal) as http:
        _sign_in_with_psc(portal, standin, http)
        assert http.get("/", follow_redirects=True).status_code == 200
        [psc_sid] = standin.sessions
        assert _live_sessions(portal, doctor.id) == 1

        # A logout for a session Bouquet does not have: accepted, nothing ended, noted.
        unknown = standin.backchannel_logout("another-psc-session", uri)
        assert unknown.status_code == 200 and _live_sessions(portal, doctor.id) == 1
        # A forged token: refused.
        standin.forge = True
        forged = standin.backchannel_logout(psc_sid, uri)
        standin.forge = False
        assert forged.status_code == 400 and _live_sessions(portal, doctor.id) == 1

        done = standin.backchannel_logout(psc_sid, uri)
        assert done.status_code == 200 and _live_sessions(portal, doctor.id) == 0
        again = http.get("/")
        assert again.status_code == 303 and "/authorize" in again.headers["location"]
    outcomes = [event.details["sessions_ended"] for event in _events(portal, "signin.psc_backchannel_logout")]
    assert outcomes == [0, 1]
    assert [event.details["reason"] for event in _events(portal, "signin.psc_backchannel_refused")] == \
        ["logout_token: bad signature"]


def test_an_unknown_idnat_is_refused_unless_the_operator_creates_accounts(psc_portal, standin, make_account):
    standin.identity = psc_userinfo(IDNAT, "Claire", "DUBOIS", profession="60", specialty="", sector="SA07",
                                    structure_id="R2", site="CABINET INFIRMIER")
    refusing = psc_portal()
    with _http(refusing) as http:
        refused = _sign_in_with_psc(refusing, standin, http)
    assert refused.status_code == 403 and "aucun compte" in refused.text
    with refusing.db.session() as session:
        assert session.exec(select(Account).where(Account.idnat_ps == IDNAT)).first() is None

    creating = psc_portal(psc_create_accounts=True)
    with _http(creating) as http:
        created = _sign_in_with_psc(creating, standin, http)
        assert created.status_code == 303
    with creating.db.session() as session:
        account = session.exec(select(Account).where(Account.idnat_ps == IDNAT)).one()
    assert (account.given_name, account.family_name, account.profession_code) == ("Claire", "DUBOIS", "60")
    assert account.civility_code == "M" and account.practice_sites[0]["name"] == "CABINET INFIRMIER"
    assert account.practice_sites[0]["sector_code"] == "SA07"
    assert _events(creating, "account.created_from_psc")


def test_psc_down_says_so_in_french_and_the_password_sign_in_stays(psc_portal, standin):
    portal = psc_portal()
    standin.down = True
    with _http(portal) as http:
        down = http.get("/login/psc", params={"next": "/"})
        assert down.status_code == 503 and "Pro Santé Connect ne répond pas" in down.text
        assert 'href="/login"' in down.text
        fallback = http.get("/login")
        assert fallback.status_code == 200 and 'name="password"' in fallback.text
        standin.down = False
        assert http.get("/login/psc", params={"next": "/"}).status_code == 303  # the next try works


def test_a_bad_signature_or_a_wrong_acr_signs_nobody_in(psc_portal, standin, make_account):
    portal = psc_portal()
    doctor = make_account(idnat_ps=IDNAT)
    standin.identity = psc_userinfo(IDNAT, "Jean", "MARTIN")
    standin.forge = True
    with _http(portal) as http:
        forged = _sign_in_with_psc(portal, standin, http)
    assert forged.status_code == 400 and "pas pu être vérifiée" in forged.text
    standin.forge, standin.acr = False, "eidas-faible"
    with _http(portal) as http:
        weak = _sign_in_with_psc(portal, standin, http)
    assert weak.status_code == 400 and "carte CPS ou e-CPS" in weak.text
    assert _live_sessions(portal, doctor.id) == 0
    reasons = [event.details["reason"] for event in _events(portal, "signin.psc_refused")]
    assert reasons == ["id_token: bad signature", "id_token: acr 'eidas-faible' is not eidas1"]
    standin.acr = "eidas1"
    with _http(portal) as http:
        assert _sign_in_with_psc(portal, standin, http).status_code == 303  # corrected, it works


def test_a_replayed_or_foreign_callback_is_refused(psc_portal, standin, make_account):
    portal = psc_portal()
    make_account(idnat_ps=IDNAT)
    standin.identity = psc_userinfo(IDNAT, "Jean", "MARTIN")
    with _http(portal) as http:
        start = http.get("/login/psc")
        callback = standin.authorize(start.headers["location"])
        with _http(portal) as stranger:
            assert stranger.get(callback).status_code == 400  # another browser
        assert http.get(callback).status_code == 303
        assert http.get(callback).status_code == 400  # replayed


def test_the_operator_can_turn_the_password_off_for_a_profession(psc_portal, standin, make_account):
    portal = psc_portal(psc_only_professions="10")
    make_account(idnat_ps=IDNAT, username="jean.martin", password_hash=hash_password("Un mot de passe solide 1"))
    nurse = make_account(username="claire", profession_code="60", password_hash=hash_password("Un mot de passe solide 2"))
    standin.identity = psc_userinfo(IDNAT, "Jean", "MARTIN")
    with _http(portal) as http:
        page = http.get("/login")
        token = http.cookies.get(cookie_name(False))
        field = {csrf.FIELD: csrf.token_for(portal.app.state.csrf_key, hash_token(token))}
        refused = http.post("/login", data={"username": "jean.martin", "password": "Un mot de passe solide 1", **field})
        assert refused.status_code == 403 and "Se connecter avec Pro Santé Connect" in refused.text
        assert "se fait par Pro Santé Connect" in refused.text and page.status_code == 200
        assert _sign_in_with_psc(portal, standin, http).status_code == 303
    with _http(portal) as http:
        http.get("/login")
        token = http.cookies.get(cookie_name(False))
        field = {csrf.FIELD: csrf.token_for(portal.app.state.csrf_key, hash_token(token))}
        other = http.post("/login", data={"username": "claire", "password": "Un mot de passe solide 2", **field})
        assert other.status_code == 303 and nurse.profession_code == "60"


def test_a_session_ended_by_anything_forgets_its_psc_tokens(psc_portal, standin, make_account):
    portal = psc_portal()
    doctor = make_account(idnat_ps=IDNAT)
    standin.identity = psc_userinfo(IDNAT, "Jean", "MARTIN")
    with _http(portal) as http:
        _sign_in_with_psc(portal, standin, http)
    with portal.db.session() as session:
        assert session.exec(select(PscSession)).first() is not None
    assert portal.app.state.sessions.end_all(doctor.id, "idle_timeout") == 1
    with portal.db.session() as session:
        assert session.exec(select(PscSession)).first() is None
