"""A second factor is never added on the strength of a password or an invitation alone once the
account has one (issue 13, item 1).

Before the fix: (a) whoever held a re-invitation link of an account with TOTP set a password,
enrolled their own app, got fresh recovery codes (the owner's deleted) and was signed in, the
owner's sessions left open; (b) someone who typed the password before the owner's first enrolment
could still enrol their own app afterwards, for the rest of the 10-minute pending sign-in.
"""

from __future__ import annotations

import pyotp
import pytest
from sqlmodel import select

from bouquet.foundation.audit import AuditEvent, AuditRecord
from bouquet.sso import invitations, recovery, totp
from bouquet.sso.accounts import Account
from bouquet.sso.passwords import verify_password
from bouquet.testing.fixtures import BouquetClient
from bouquet.testing.signin import (
    follow,
    install_clock,
    make_user,
    password_step,
    recovery_codes_in,
    text_by_testid,
)
from bouquet.web.sessions import WebSession

NEW_PASSWORD = "une toute nouvelle phrase de passe"


@pytest.fixture
def invite(app):  # noqa: ANN001, ANN201
    def make(account: Account) -> str:
        with app.state.db.write() as session:
            _invitation, token = invitations.issue(session, app.state.audit_key, account,
                                                   record=AuditRecord(actor="admin", action="-"))
        return token

    return make


@pytest.fixture
def other_browser(app):  # noqa: ANN001, ANN201
    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as browser:
        yield browser


def _totp_count(app, account: Account) -> int:  # noqa: ANN001
    with app.state.db.session() as session:
        return totp.count(session, account.id)


def _password_hash(app, account: Account) -> str | None:  # noqa: ANN001
    with app.state.db.session() as session:
        found = session.get(Account, account.id)
        assert found is not None
        return found.password_hash


def _live_sessions(app, account: Account) -> list[WebSession]:  # noqa: ANN001
    with app.state.db.session() as session:
        return list(session.exec(select(WebSession).where(WebSession.account_id == account.id,
                                                          WebSession.ended_at.is_(None))).all())


def _actions(app) -> list[str]:  # noqa: ANN001
    with app.state.db.session() as session:
        return [event.action for event in session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()]


# --- (a) re-invitation of an account that has a second factor -----------------------------------

def test_a_reinvitation_without_the_existing_factor_changes_nothing(app, client, make_account, invite) -> None:
    clock = install_clock(app)
    secret = pyotp.random_base32()
    owner, codes = make_user(app, make_account, totp_secret=secret, with_codes=True)
    owner_session = app.state.sessions.create(account_id=owner.id, amr=["pwd", "otp", "mfa"])
    token = invite(owner)
    old_hash = _password_hash(app, owner)

    page = client.get(f"/invitation/{token}")
    assert page.status_code == 200 and 'name="code"' in page.text and "déjà un second facteur" in page.text

    # Password alone: refused, everything as it was (the link still works for the owner).
    refused = client.submit(f"/invitation/{token}", {"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert refused.status_code == 400 and "second facteur" in refused.text
    # A wrong code: refused the same way.
    wrong = "000000" if totp.code_at(secret, clock()) != "000000" else "111111"
    refused = client.submit(f"/invitation/{token}", {"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD,
                                                      "code": wrong})
    assert refused.status_code == 400 and "pas valable" in refused.text
    assert _password_hash(app, owner) == old_hash
    assert [s.id for s in _live_sessions(app, owner)] == [owner_session.row.id]
    assert "account.invitation_used" not in _actions(app)

    # No route leads to enrolling another app on the strength of the invitation.
    assert client.get("/enrol/totp").headers["location"] == "/login"
    assert _totp_count(app, owner) == 1
    with app.state.db.session() as session:
        assert recovery.remaining(session, owner.id) == len(codes)


def test_a_reinvitation_with_the_owners_code_sets_the_password_and_ends_every_session(
        app, client, make_account, invite) -> None:
    clock = install_clock(app)
    secret = pyotp.random_base32()
    owner, codes = make_user(app, make_account, totp_secret=secret, with_codes=True)
    app.state.sessions.create(account_id=owner.id, amr=["pwd", "otp", "mfa"])
    token = invite(owner)
    client.get(f"/invitation/{token}")

    response = client.submit(f"/invitation/{token}", {
        "password": NEW_PASSWORD, "confirmation": NEW_PASSWORD, "code": totp.code_at(secret, clock())})

    assert response.status_code == 303, response.text
    assert verify_password(_password_hash(app, owner), NEW_PASSWORD)
    home = follow(client, response)
    assert home.status_code == 200 and home.url.path == "/"
    # The session that existed before is ended; the only one left is this browser's new one.
    [live] = _live_sessions(app, owner)
    assert live.amr is not None and "otp" in live.amr
    # No new factor, the owner's recovery codes untouched.
    assert _totp_count(app, owner) == 1
    with app.state.db.session() as session:
        assert recovery.remaining(session, owner.id) == len(codes)
    actions = _actions(app)
    assert "account.invitation_used" in actions and "factor.added" not in actions
    assert "recovery_codes.issued" not in actions
    # The owner sees it among the security events of their account page.
    account_page = client.get("/account")
    assert "Mot de passe choisi avec une invitation" in account_page.text


def test_a_reinvitation_accepts_a_recovery_code(app, client, make_account, invite) -> None:
    owner, codes = make_user(app, make_account, totp_secret=pyotp.random_base32(), with_codes=True)
    token = invite(owner)
    client.get(f"/invitation/{token}")

    response = client.submit(f"/invitation/{token}", {
        "password": NEW_PASSWORD, "confirmation": NEW_PASSWORD, "code": codes[0]})

    assert response.status_code == 303
    assert verify_password(_password_hash(app, owner), NEW_PASSWORD)
    with app.state.db.session() as session:
        assert recovery.remaining(session, owner.id) == len(codes) - 1


def test_a_factor_enrolled_after_the_page_was_shown_is_required(app, client, make_account, invite) -> None:
    owner = make_account()
    token = invite(owner)
    page = client.get(f"/invitation/{token}")
    assert 'name="code"' not in page.text
    # The owner enrols an app (with an older link, or after a reset) while this page is open.
    with app.state.db.session() as session:
        totp.add(session, owner.id, pyotp.random_base32(), secret_key=app.state.settings.secret_key)

    response = client.submit(f"/invitation/{token}", {"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})

    assert response.status_code == 400 and 'name="code"' in response.text
    assert _password_hash(app, owner) is None
    assert "account.invitation_used" not in _actions(app)


def test_an_invitation_ends_the_sessions_of_an_account_without_factor(app, client, make_account, invite) -> None:
    owner = make_account()
    app.state.sessions.create(account_id=owner.id, amr=["pwd"])
    token = invite(owner)
    client.get(f"/invitation/{token}")

    response = client.submit(f"/invitation/{token}", {"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})

    assert response.headers["location"] == "/enrol"
    assert _live_sessions(app, owner) == []


def test_after_an_administrators_reset_the_invitation_leads_to_enrolment(app, client, make_account, invite) -> None:
    owner, _codes = make_user(app, make_account, totp_secret=pyotp.random_base32(), with_codes=True)
    admin = make_account(kind="admin", username="admin.reset")
    client.login(admin)
    client.get(f"/admin/accounts/{owner.id}")
    reset = client.submit(f"/admin/accounts/{owner.id}/reset-factors", {"reason": "téléphone perdu, identité vérifiée"})
    assert reset.status_code == 303
    token = invite(owner)

    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as browser:
        browser.get(f"/invitation/{token}")
        response = browser.submit(f"/invitation/{token}", {"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert response.headers["location"] == "/enrol"
    assert "admin.factors_reset" in _actions(app)


# --- (b) an enrolment begun before the owner's own --------------------------------------------

def test_an_enrolment_begun_before_the_owners_is_refused_after_it(app, client, other_browser, make_account) -> None:
    clock = install_clock(app)
    owner, _ = make_user(app, make_account)

    # The intruder typed the password first and reached the enrolment page.
    assert password_step(client, owner.username).headers["location"] == "/enrol"
    intruder_secret = text_by_testid(client.get("/enrol/totp").text, "totp-secret")

    # The owner enrols their app and gets their recovery codes.
    assert password_step(other_browser, owner.username).headers["location"] == "/enrol"
    owner_secret = text_by_testid(other_browser.get("/enrol/totp").text, "totp-secret")
    enrolled = other_browser.submit("/enrol/totp", {"code": pyotp.TOTP(owner_secret).at(clock())})
    assert enrolled.headers["location"] == "/enrol/recovery-codes"
    owner_codes = recovery_codes_in(other_browser.get("/enrol/recovery-codes").text)
    assert len(owner_codes) == 10

    # The intruder's confirmation, minutes later, is refused: the factor must be asked for.
    clock.advance(120)
    response = client.submit("/enrol/totp", {"code": pyotp.TOTP(intruder_secret).at(clock())})
    assert response.status_code == 303 and response.headers["location"] == "/login/second-factor"
    assert "Un second facteur a été enregistré pour ce compte entre-temps" in client.get("/login/second-factor").text
    assert _totp_count(app, owner) == 1
    with app.state.db.session() as session:
        assert recovery.remaining(session, owner.id) == 10
    # The sign-in in progress now asks for the owner's factor; the intruder's app does not pass.
    refused = client.submit("/login/second-factor", {"code": pyotp.TOTP(intruder_secret).at(clock())})
    assert refused.status_code == 200 and client.get("/", headers={"accept": "text/html"}).status_code == 303
    assert _live_sessions(app, owner) == []  # the owner has not finished yet; the intruder never signed in
