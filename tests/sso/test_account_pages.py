"""The account page: identity, factors (with re-authentication), recovery codes, security events."""

from __future__ import annotations

from sqlmodel import select

from bouquet.foundation.audit import AuditEvent
from bouquet.sso import recovery, totp
from bouquet.sso.account_pages import LAST_FACTOR
from bouquet.testing.fixtures import BouquetClient
from bouquet.testing.signin import (
    PASSWORD,
    age_sign_in,
    confirm_identity,
    follow,
    install_clock,
    make_user,
    next_in,
    password_step,
    recovery_codes_in,
    text_by_testid,
)


def _signed_in(app, client, make_account, **fields):
    clock = install_clock(app)
    secret = totp.new_secret()
    account, codes = make_user(app, make_account, totp_secret=secret, with_codes=True, **fields)
    client.login(account)
    return account, secret, codes, clock


def _authenticated_long_ago(app, client):
    age_sign_in(app, client, 6)


def _asks_recent_authentication(response):
    """The page answers with a new authorization request of the portal asking for max_age=300."""
    location = response.headers["location"]
    assert response.status_code == 303 and location.startswith("/authorize?client_id=bouquet-portal&")
    assert "&max_age=300" in location, location


def test_overview_shows_identity_factors_codes(app, client, make_account):
    account, _, _, _ = _signed_in(app, client, make_account, given_name="Alice", family_name="MARTIN")
    page = client.get("/account")
    assert page.status_code == 200
    assert "Dr Alice MARTIN" in page.text and "Professionnel de santé" in page.text and "Médecin" in page.text
    assert page.text.count("Application ajoutée le") == 1
    assert "Il vous reste 10 codes de secours" in page.text
    assert 'href="/account/totp/new"' in page.text and 'href="/account/sessions"' in page.text
    assert "/remove" not in page.text, "the only factor offers no removal"


def test_security_events_include_failures_before_sign_in(app, client, make_account):
    account, _, _, _ = _signed_in(app, client, make_account)
    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as stranger:
        password_step(stranger, account.username, "certainly not it")
    page = client.get("/account")
    events = text_by_testid(page.text, "security-events")
    assert "Échec de connexion" in page.text and "mot de passe" in page.text
    assert events is not None


def test_adding_an_app_needs_a_recent_confirmation(app, client, make_account):
    account, secret, _, clock = _signed_in(app, client, make_account)
    _authenticated_long_ago(app, client)
    response = client.get("/account/totp/new")
    _asks_recent_authentication(response)
    _asks_recent_authentication(client.submit("/account/totp/new", {"code": "123456"}))

    page = follow(client, response)  # the provider sends the person to confirm their identity
    assert page.url.path == "/account/confirm"
    assert 'autocomplete="current-password"' in page.text and 'name="code"' in page.text
    resume = next_in(page.text)
    assert resume.startswith("/authorize?") and "bq_reauth=" in resume
    assert client.submit("/account/confirm", {"password": "", "code": ""}).status_code == 400
    wrong = client.submit("/account/confirm", {"password": "not my password", "code": totp.code_at(secret, clock()),
                                               "next": resume})
    assert wrong.status_code == 200 and "Mot de passe ou code incorrect." in wrong.text
    before = client.session_token
    confirmed = client.submit("/account/confirm", {"password": PASSWORD, "code": totp.code_at(secret, clock()),
                                                   "next": resume})
    assert confirmed.status_code == 303 and confirmed.headers["location"] == resume
    assert client.session_token != before, "a step-up starts a new session"

    page = follow(client, confirmed)  # the provider's code, the portal's callback, the page
    assert page.url.path == "/account/totp/new"
    new_secret = text_by_testid(page.text, "totp-secret")
    assert new_secret != secret
    bad = client.submit("/account/totp/new", {"code": "abc"})
    assert bad.status_code == 400
    done = client.submit("/account/totp/new", {"code": totp.code_at(new_secret, clock())})
    assert done.status_code == 303 and done.headers["location"] == "/account"
    assert "est ajoutée" in client.get("/account").text
    with app.state.db.session() as session:
        assert totp.count(session, account.id) == 2
        actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()]
    assert "signin.reauthenticated" in actions and "factor.added" in actions


def test_removing_the_last_factor_is_refused(app, client, make_account):
    account, _, _, _ = _signed_in(app, client, make_account)
    with app.state.db.session() as session:
        only = totp.credentials_of(session, account.id)[0]
    assert client.get(f"/account/totp/{only.id}/remove").status_code == 200
    response = client.submit(f"/account/totp/{only.id}/remove")
    assert response.status_code == 400 and LAST_FACTOR.split(":")[0] in response.text
    with app.state.db.session() as session:
        assert totp.count(session, account.id) == 1


def test_removing_one_of_two_apps(app, client, make_account):
    account, _, _, _ = _signed_in(app, client, make_account)
    with app.state.db.write() as session:
        second = totp.add(session, account.id, totp.new_secret(), secret_key=app.state.settings.secret_key)
    _authenticated_long_ago(app, client)
    _asks_recent_authentication(client.submit(f"/account/totp/{second.id}/remove"))
    age_sign_in(app, client, -6)  # back to now
    assert client.submit(f"/account/totp/{second.id}/remove").headers["location"] == "/account"
    assert client.submit(f"/account/totp/{second.id}/remove").status_code == 404
    with app.state.db.session() as session:
        assert totp.count(session, account.id) == 1
        removed = session.exec(select(AuditEvent).where(AuditEvent.action == "factor.removed")).one()
    assert removed.actor == account.label and removed.details["factor"] == "totp"


def test_cannot_remove_someone_elses_app(app, client, make_account):
    _signed_in(app, client, make_account)
    other, _ = make_user(app, make_account, totp_secret=totp.new_secret())
    with app.state.db.write() as session:
        theirs = totp.add(session, other.id, totp.new_secret(), secret_key=app.state.settings.secret_key)
    assert client.submit(f"/account/totp/{theirs.id}/remove").status_code == 404
    with app.state.db.session() as session:
        assert totp.count(session, other.id) == 2


def test_new_recovery_codes_with_confirmation_by_recovery_code(app, client, make_account):
    account, _, codes, _ = _signed_in(app, client, make_account)
    _authenticated_long_ago(app, client)
    page = confirm_identity(client, client.get("/account/recovery-codes/new"), PASSWORD, codes[0])
    assert page.status_code == 200 and page.url.path == "/account/recovery-codes/new"
    page = client.submit("/account/recovery-codes/new")
    fresh = recovery_codes_in(page.text)
    assert page.status_code == 200 and len(fresh) == 10
    with app.state.db.write() as session:
        assert not recovery.redeem(session, account.id, codes[1])
        assert recovery.redeem(session, account.id, fresh[0])


def test_account_pages_need_a_full_sign_in(client):
    for url in ("/account", "/account/sessions", "/account/confirm", "/account/totp/new"):
        assert client.get(url, headers={"accept": "text/html"}).headers["location"].startswith(
            "/authorize?client_id=bouquet-portal&")


def test_recovery_codes_can_be_printed_downloaded_and_copied(app, client, make_account):
    from urllib.parse import unquote

    _signed_in(app, client, make_account)
    page = client.submit("/account/recovery-codes/new")
    fresh = recovery_codes_in(page.text)
    actions = page.text.split('data-testid="recovery-actions"', 1)[1].split("</ul>", 1)[0]
    assert "data-bq-print" in actions and 'data-bq-copy="bq-recovery-codes"' in actions
    download = actions.split('download="codes-de-secours-bouquet.txt"', 1)[1].split('href="', 1)[1].split('"', 1)[0]
    assert download.startswith("data:text/plain;charset=utf-8,")
    text = unquote(download.removeprefix("data:text/plain;charset=utf-8,"))
    assert [line for line in text.splitlines() if line in fresh] == fresh
