"""Sign-in over HTTP: password, mandatory TOTP enrolment, recovery codes, second factor, sign-out."""

from __future__ import annotations

import re

import pyotp
from markupsafe import escape
from sqlmodel import select

from bouquet.sso import recovery, totp
from bouquet.sso.signin import ACCOUNT_DISABLED, LOGIN_FAILED, TOTP_REPLAYED
from bouquet.testing.signin import (
    PASSWORD,
    audit_actions,
    csrf_in,
    follow,
    install_clock,
    make_user,
    password_step,
    recovery_codes_in,
    sign_in,
    text_by_testid,
)
from bouquet.web.sessions import WebSession, hash_token


def test_login_page_has_the_stable_fields(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="username"' in page.text and 'autocomplete="username"' in page.text
    assert 'name="password"' in page.text and 'autocomplete="current-password"' in page.text
    assert 'type="password"' in page.text


def test_whole_flow_enrol_sign_out_sign_in_again(app, client, make_account):
    clock = install_clock(app)
    account, _ = make_user(app, make_account, username="alice")

    # The password of an account without a second factor leads to enrolment, and only there.
    response = password_step(client, "  ALICE ")
    assert response.status_code == 303 and response.headers["location"] == "/enrol"
    assert client.get("/", headers={"accept": "text/html"}).headers["location"].startswith("/authorize?")
    assert client.get("/login/second-factor").headers["location"] == "/enrol"
    choices = client.get("/enrol")
    assert 'href="/enrol/totp"' in choices.text and 'href="/enrol/webauthn"' in choices.text

    page = client.get("/enrol/totp")
    secret = text_by_testid(page.text, "totp-secret")
    assert 'src="data:image/svg+xml' in page.text
    assert client.get("/enrol/totp").text.count(secret) >= 1, "a reload keeps the same secret"
    assert client.submit("/enrol/totp", {"code": "000000" if totp.code_at(secret, clock()) != "000000" else "111111"}
                         ).status_code == 200
    response = client.submit("/enrol/totp", {"code": pyotp.TOTP(secret).at(clock())})
    assert response.status_code == 303 and response.headers["location"] == "/enrol/recovery-codes"

    shown = client.get("/enrol/recovery-codes")
    codes = recovery_codes_in(shown.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert not re.search(r'data-testid="recovery-codes"', client.get("/enrol/recovery-codes").text), "shown once"
    response = client.submit("/enrol/recovery-codes")
    assert response.status_code == 303 and response.headers["location"] == "/"
    home = follow(client, response)  # through the portal's sign-in: /authorize, then /auth/callback
    assert home.status_code == 200 and home.url.path == "/" and account.display_name in home.text

    assert client.submit("/logout").status_code == 303
    assert client.get("/", headers={"accept": "text/html"}).status_code == 303

    # Again, with password and TOTP; the code just used is then refused.
    response = sign_in(client, "alice", secret, clock)
    assert response.status_code == 303 and response.headers["location"] == "/"
    used = totp.code_at(secret, clock())
    client.submit("/logout")
    assert password_step(client, "alice").headers["location"] == "/login/second-factor"
    replay = client.submit("/login/second-factor", {"code": used})
    assert replay.status_code == 200 and TOTP_REPLAYED.split(".")[0] in replay.text
    assert client.get("/", headers={"accept": "text/html"}).status_code == 303
    actions = audit_actions(app)
    assert "signin.totp_replay" in actions
    assert actions.count("signin.success") == 2 and "factor.added" in actions and "session.ended" in actions


def test_success_is_audited_with_the_factors_used(app, client, make_account):
    clock = install_clock(app)
    secret = totp.new_secret()
    account, _ = make_user(app, make_account, totp_secret=secret)
    sign_in(client, account.username, secret, clock)
    from bouquet.foundation.audit import AuditEvent

    with app.state.db.session() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "signin.success")).one()
    assert event.actor == account.label
    assert event.details == {"amr": ["pwd", "otp", "mfa"]}


def test_sign_in_goes_back_where_it_was_headed_and_never_elsewhere(app, client, make_account):
    clock = install_clock(app)
    secret = totp.new_secret()
    account, _ = make_user(app, make_account, totp_secret=secret)
    assert 'value="/-/plugins"' in client.get("/login?next=/-/plugins").text
    clock.advance(30)
    password_step(client, account.username, next="/-/plugins")
    response = client.submit("/login/second-factor", {"code": totp.code_at(secret, clock())})
    assert response.headers["location"] == "/-/plugins"

    client.submit("/logout")
    clock.advance(30)
    password_step(client, account.username, next="https://evil.example/")
    response = client.submit("/login/second-factor", {"code": totp.code_at(secret, clock())})
    assert response.headers["location"] == "/"


def test_recovery_code_signs_in_once(app, client, make_account):
    secret = totp.new_secret()
    account, codes = make_user(app, make_account, totp_secret=secret, with_codes=True)
    password_step(client, account.username)
    assert "Utiliser un code de secours" in client.get("/login/second-factor").text
    response = client.submit("/login/recovery", {"code": codes[0].upper().replace("-", " ")})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "il vous en reste 9" in follow(client, response).text  # through /authorize and /auth/callback
    client.submit("/logout")
    password_step(client, account.username)
    again = client.submit("/login/recovery", {"code": codes[0]})
    assert again.status_code == 200 and "incorrect ou déjà utilisé" in again.text
    with app.state.db.session() as session:
        assert recovery.remaining(session, account.id) == 9
    assert "signin.recovery_code_used" in audit_actions(app)


def test_unknown_account_wrong_password_and_disabled_account_look_the_same(app, make_account):
    from bouquet.foundation.db import utcnow
    from bouquet.testing.fixtures import BouquetClient

    make_user(app, make_account, username="known")
    make_user(app, make_account, username="gone", disabled_at=utcnow())
    bodies, statuses = [], []
    # A disabled account with a wrong password looks like any wrong password: only its owner learns more.
    for username, password in (("known", "not the password!"), ("nobody", "not the password!"),
                               ("gone", "not the password!")):
        with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as browser:
            response = password_step(browser, username, password)
            statuses.append(response.status_code)
            # The page echoes what was typed, and each browser has its own CSRF token: nothing else differs.
            bodies.append(response.text.replace(csrf_in(response.text), "TOKEN").replace(f'value="{username}"', ""))
            assert LOGIN_FAILED in response.text and "désactivé" not in response.text
    assert statuses == [200, 200, 200]
    assert bodies[0] == bodies[1] == bodies[2]


def test_a_disabled_account_with_its_right_password_is_told_to_contact_the_administrator(app, client, make_account):
    from bouquet.foundation.db import utcnow

    make_user(app, make_account, username="gone", disabled_at=utcnow())
    response = password_step(client, "gone", PASSWORD)
    assert response.status_code == 403
    assert str(escape(ACCOUNT_DISABLED)) in response.text and LOGIN_FAILED not in response.text
    assert client.get("/login/second-factor").headers["location"] == "/login", "no sign-in was begun"
    assert "signin.failure" in audit_actions(app)


def test_a_professional_signs_in_with_the_idnat_or_the_username(app, client, make_account):
    clock = install_clock(app)
    secret = totp.new_secret()
    account, _ = make_user(app, make_account, username="dr.martin", idnat_ps="899900000011", totp_secret=secret)
    for typed in ("899900000011", " 899900000011 ", "DR.MARTIN"):
        clock.advance(30)
        response = sign_in(client, typed, secret, clock)
        assert response.status_code == 303 and response.headers["location"] == "/", typed
        client.submit("/logout")
    # An IdNat that is nobody's is an ordinary wrong identifier.
    from bouquet.sso.accounts import luhn_key

    nobody = "8" + "9999999999" + luhn_key("9999999999")
    refused = password_step(client, nobody)
    assert refused.status_code == 200 and LOGIN_FAILED in refused.text


def test_missing_fields_are_bad_input_and_change_nothing(app, client, make_account):
    account, _ = make_user(app, make_account, totp_secret=totp.new_secret())
    response = password_step(client, "", "")
    assert response.status_code == 400
    assert "Saisissez votre identifiant." in response.text and 'aria-invalid="true"' in response.text
    password_step(client, account.username)
    bad = client.submit("/login/second-factor", {"code": "12ab"})
    assert bad.status_code == 400 and "6 chiffres" in bad.text
    from bouquet.sso.throttle import GuessCounter

    with app.state.db.session() as session:
        assert session.exec(select(GuessCounter).where(GuessCounter.scope == "otp")).all() == []


def test_oversized_field_is_refused(client):
    client.get("/login")
    assert client.submit("/login", {"username": "a" * 5000, "password": "x"}).status_code == 400


def test_login_without_csrf_token_is_forbidden(client):
    client.get("/login")
    assert client.post("/login", data={"username": "a", "password": "b"}).status_code == 403
    assert client.post("/logout").status_code == 403


def test_session_fixation_new_session_after_sign_in(app, client, make_account):
    clock = install_clock(app)
    secret = totp.new_secret()
    account, _ = make_user(app, make_account, totp_secret=secret)
    client.get("/login")
    anonymous_cookie = client.session_token  # no session row yet: a signed anonymous cookie
    password_step(client, account.username)
    before = client.session_token
    assert before != anonymous_cookie, "the sign-in's session begins with the first factor"
    with app.state.db.session() as session:
        pending = session.exec(select(WebSession).where(WebSession.token_hash == hash_token(before))).one()
    assert pending.account_id is None, "the first factor alone does not sign in"
    clock.advance(30)
    client.submit("/login/second-factor", {"code": totp.code_at(secret, clock())})
    after = client.session_token
    assert after and after not in (before, anonymous_cookie)
    with app.state.db.session() as session:
        old = session.exec(select(WebSession).where(WebSession.token_hash == hash_token(before))).one()
    assert old.ended_at is not None
    for earlier in (before, anonymous_cookie):
        client.cookies.clear()
        client.cookies.set("bouquet_session", earlier, domain="testserver.local", path="/")
        assert client.get("/", headers={"accept": "text/html"}).status_code == 303


def test_pending_sign_in_reaches_nothing_else(app, client, make_account):
    secret = totp.new_secret()
    account, _ = make_user(app, make_account, totp_secret=secret)
    password_step(client, account.username)
    assert client.get("/account", headers={"accept": "text/html"}).headers["location"].startswith("/authorize?")
    assert client.get("/enrol").headers["location"] == "/login/second-factor"
    assert client.get("/enrol/totp").headers["location"] == "/login/second-factor"


def test_second_factor_without_password_goes_back_to_login(client):
    assert client.get("/login/second-factor").headers["location"] == "/login"
    assert client.submit("/login/second-factor", {"code": "123456"}).headers["location"] == "/login"
    assert client.get("/enrol").headers["location"] == "/login"
    assert client.get("/enrol/recovery-codes").headers["location"] == "/login"


def test_cancel_sign_in(app, client, make_account):
    account, _ = make_user(app, make_account)
    password_step(client, account.username)
    response = client.submit("/logout")
    assert response.status_code == 303
    assert client.get("/enrol").headers["location"] == "/login"


def test_an_old_password_hash_is_upgraded_at_sign_in(app, client, make_account):
    from argon2 import PasswordHasher

    from bouquet.sso import passwords
    from bouquet.sso.accounts import Account

    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    account = make_account(password_hash=weak)
    assert password_step(client, account.username).headers["location"] == "/enrol"
    with app.state.db.session() as session:
        upgraded = session.get(Account, account.id).password_hash
    assert upgraded != weak and not passwords.needs_rehash(upgraded)
    assert passwords.verify_password(upgraded, PASSWORD)
