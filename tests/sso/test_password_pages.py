"""Changing one's password behind a re-authentication, and the forgotten-password request."""

from __future__ import annotations

from markupsafe import escape
from sqlmodel import select

from bouquet.foundation.audit import AuditEvent
from bouquet.sso import passwords, totp
from bouquet.sso.accounts import Account
from bouquet.sso.password_pages import CHANGED, MISMATCH
from bouquet.testing.fixtures import BouquetClient
from bouquet.testing.signin import (
    PASSWORD,
    age_sign_in,
    confirm_identity,
    install_clock,
    make_user,
    password_step,
    sign_in,
)

NEW = "une phrase de passe toute neuve"


def _actions(app):
    with app.state.db.session() as session:
        return [event.action for event in session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()]


def test_a_password_change_needs_a_recent_confirmation_then_refuses_then_accepts(app, client, make_account):
    clock = install_clock(app)
    secret = totp.new_secret()
    account, _ = make_user(app, make_account, username="dr.martin", totp_secret=secret)
    sign_in(client, "dr.martin", secret, clock)
    age_sign_in(app, client, 6)
    asked = client.get("/account/password")
    assert asked.status_code == 303 and "max_age=300" in asked.headers["location"]
    # A form posted without a recent confirmation changes nothing either.
    assert client.submit("/account/password", {"password": NEW, "confirmation": NEW}).status_code == 303
    clock.advance(30)
    page = confirm_identity(client, asked, PASSWORD, totp.code_at(secret, clock()))
    assert page.url.path == "/account/password" and 'autocomplete="new-password"' in page.text

    # Every error at once, and no password sent back to the browser.
    refused = client.submit("/account/password", {"password": "court", "confirmation": "autre"})
    assert refused.status_code == 400
    assert "au moins 12 caractères" in refused.text and "Saisissez le nouveau mot de passe" not in refused.text
    assert 'value="court"' not in refused.text and 'data-testid="form-errors"' in refused.text
    mismatch = client.submit("/account/password", {"password": NEW, "confirmation": NEW + "!"})
    assert mismatch.status_code == 400 and str(escape(MISMATCH)) in mismatch.text
    with app.state.db.session() as session:
        assert passwords.verify_password(session.get(Account, account.id).password_hash, PASSWORD), "nothing changed yet"

    done = client.submit("/account/password", {"password": NEW, "confirmation": NEW})
    assert done.status_code == 303 and done.headers["location"] == "/account"
    assert str(escape(CHANGED)) in client.get("/account").text
    assert "account.password_changed" in _actions(app)

    client.submit("/logout")
    assert "incorrect" in password_step(client, "dr.martin", PASSWORD).text
    # The new password leads to the second factor, as always.
    assert password_step(client, "dr.martin", NEW).headers["location"] == "/login/second-factor"


def test_a_password_change_ends_the_other_sessions(app, client, make_account):
    clock = install_clock(app)
    secret = totp.new_secret()
    make_user(app, make_account, username="alice", totp_secret=secret)
    with BouquetClient(app, follow_redirects=False) as other:
        sign_in(other, "alice", secret, clock)
        assert other.get("/account").status_code == 200
        sign_in(client, "alice", secret, clock)
        assert client.submit("/account/password", {"password": NEW, "confirmation": NEW}).status_code == 303
        assert other.get("/account", headers={"accept": "text/html"}).status_code == 303
    assert client.get("/account").status_code == 200


def test_the_forgotten_password_request_says_the_same_for_everyone_and_reaches_the_administrator(
        app, client, make_account):
    account, _ = make_user(app, make_account, username="dr.martin", idnat_ps="899900000011")
    admin = make_account(kind="admin", username="admin")
    page = client.get("/login")
    assert 'href="/login/forgotten"' in page.text
    form = client.get("/login/forgotten")
    assert form.status_code == 200 and "second facteur" in form.text
    empty = client.submit("/login/forgotten", {"username": ""})
    assert empty.status_code == 400 and "Saisissez votre identifiant" in empty.text
    known = client.submit("/login/forgotten", {"username": "899900000011"})
    unknown = client.submit("/login/forgotten", {"username": "personne"})
    assert known.status_code == unknown.status_code == 200
    assert 'data-testid="forgotten-sent"' in known.text
    assert known.text.replace(known.text.split('name="csrf_token" value="')[-1][:10], "") == unknown.text.replace(
        unknown.text.split('name="csrf_token" value="')[-1][:10], "")
    with BouquetClient(app, follow_redirects=False) as operator:
        shown = operator.login(admin).get(f"/admin/accounts/{account.id}").text
    assert 'data-testid="reset-requested"' in shown
    assert _actions(app).count("account.password_reset_requested") == 1


def test_forgotten_password_requests_are_throttled_on_their_own_counter(make_app, make_account):
    # Per source, with the source's limits (BOUQUET_SIGNIN_SOURCE_FREE_FAILURES, here 3 instead of 50).
    from bouquet.testing.fixtures import BouquetClient

    app = make_app(signin_source_free_failures=3)
    client = BouquetClient(app, base_url="http://testserver.local", follow_redirects=False)
    clock = install_clock(app)
    secret = totp.new_secret()
    with app.state.db.session() as session:
        from bouquet.sso.accounts import Account
        from bouquet.testing.signin import password_hash

        account = Account(kind="professional", username="dr.martin", given_name="Jean", family_name="MARTIN",
                          password_hash=password_hash())
        session.add(account)
        session.flush()
        totp.add(session, account.id, secret, secret_key=app.state.settings.secret_key)
    answers = [client.submit("/login/forgotten", {"username": "dr.martin"}).status_code for _ in range(4)]
    assert answers[:3] == [200, 200, 200] and answers[3] == 429
    # The source's sign-in attempts are untouched.
    assert sign_in(client, "dr.martin", secret, clock).status_code == 303
