"""Invitations: a single-use, expiring link to choose a password, then enrol a second factor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import update
from sqlmodel import select

from bouquet.foundation.audit import AuditEvent, AuditRecord
from bouquet.foundation.db import utcnow
from bouquet.sso import flow, invitations
from bouquet.sso.accounts import Account
from bouquet.sso.invitations import Invitation
from bouquet.sso.passwords import verify_password
from bouquet.testing.fixtures import TEST_SECRET

PASSWORD = "une phrase de passe assez longue"


@pytest.fixture
def invite(app):  # noqa: ANN001, ANN201
    """`invite(account, lifetime=…)` → the raw token, as the CLI or the admin page would issue it."""
    def make(account: Account, lifetime: timedelta = invitations.DEFAULT_LIFETIME) -> str:
        with app.state.db.write() as session:
            _invitation, token = invitations.issue(session, app.state.audit_key, account,
                                                   record=AuditRecord(actor="test", action="-"), lifetime=lifetime)
        return token

    return make


def stored(app, account: Account) -> Account:  # noqa: ANN001
    with app.state.db.session() as session:
        found = session.get(Account, account.id)
        assert found is not None
        return found


def events(app, action: str) -> list[AuditEvent]:  # noqa: ANN001
    with app.state.db.session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all())


def test_the_page_says_who_the_invitation_is_for(client, make_account, invite) -> None:
    doctor = make_account(given_name="Marie", family_name="Dupont")

    page = client.get(f"/invitation/{invite(doctor)}")

    assert page.status_code == 200
    assert "Marie Dupont" in page.text and doctor.username in page.text
    assert 'name="csrf_token"' in page.text and 'autocomplete="new-password"' in page.text


def test_choosing_a_password_starts_the_sign_in_and_goes_to_enrolment(app, client, make_account, invite) -> None:
    doctor = make_account()
    token = invite(doctor)
    client.get(f"/invitation/{token}")

    response = client.submit(f"/invitation/{token}", {"password": PASSWORD, "confirmation": PASSWORD})

    assert response.status_code == 303 and response.headers["location"] == "/enrol"
    assert verify_password(stored(app, doctor).password_hash, PASSWORD)
    browser = app.state.sessions.load(client.session_token)
    signin = browser.get(flow.KEY)
    assert (signin["account_id"], signin["amr"], signin["enrolling"]) == (doctor.id, ["pwd"], True)
    assert browser.account_id is None  # not signed in until a second factor is enrolled
    [used] = events(app, "account.invitation_used")
    assert used.actor == doctor.label
    assert [e.resource for e in events(app, "account.invitation_created")] == [doctor.label]


def test_a_used_invitation_is_refused_and_changes_nothing(app, client, make_account, invite) -> None:
    doctor = make_account()
    token = invite(doctor)
    client.submit(f"/invitation/{token}", {"password": PASSWORD, "confirmation": PASSWORD})
    first_hash = stored(app, doctor).password_hash

    page = client.get(f"/invitation/{token}")
    again = client.submit(f"/invitation/{token}", {"password": "une autre phrase bien longue",
                                                    "confirmation": "une autre phrase bien longue"})

    assert page.status_code == 410 and "déjà été utilisé" in page.text
    assert again.status_code == 410
    assert stored(app, doctor).password_hash == first_hash
    assert len(events(app, "account.invitation_used")) == 1


def test_an_expired_invitation_is_refused(app, client, make_account, invite) -> None:
    doctor = make_account()
    token = invite(doctor)
    with app.state.db.session() as session:
        session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))

    page = client.get(f"/invitation/{token}")
    post = client.submit(f"/invitation/{token}", {"password": PASSWORD, "confirmation": PASSWORD})

    assert page.status_code == 410 and "a expiré" in page.text
    assert post.status_code == 410
    assert stored(app, doctor).password_hash is None


def test_an_unknown_invitation_is_not_found(client) -> None:
    page = client.get("/invitation/" + "x" * 43)

    assert page.status_code == 404 and "lien d&#39;invitation n&#39;existe pas" in page.text


def test_a_disabled_account_cannot_use_its_invitation(app, client, make_account, invite) -> None:
    doctor = make_account()
    token = invite(doctor)
    with app.state.db.session() as session:
        session.execute(update(Account).where(Account.id == doctor.id).values(disabled_at=utcnow()))

    assert client.get(f"/invitation/{token}").status_code == 410


@pytest.mark.parametrize(("password", "confirmation", "message"), [
    ("court", "court", "au moins 12 caractères"),
    ("aaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaa", "trop répétitif"),
    (PASSWORD, PASSWORD + "!", "ne sont pas identiques"),
])
def test_a_refused_password_is_explained_and_nothing_is_stored(app, client, make_account, invite,
                                                               password: str, confirmation: str,
                                                               message: str) -> None:
    doctor = make_account()
    token = invite(doctor)

    response = client.submit(f"/invitation/{token}", {"password": password, "confirmation": confirmation})

    assert response.status_code == 400
    assert message in response.text and 'aria-invalid="true"' in response.text
    assert 'aria-describedby="password-hint password-error"' in response.text or "confirmation-error" in response.text
    assert stored(app, doctor).password_hash is None
    assert events(app, "account.invitation_used") == []
    assert client.get(f"/invitation/{token}").status_code == 200  # still usable


def test_a_password_containing_the_name_is_refused(app, client, make_account, invite) -> None:
    doctor = make_account(family_name="Castelnau")
    token = invite(doctor)

    response = client.submit(f"/invitation/{token}", {"password": "castelnau-2026-cabinet",
                                                       "confirmation": "castelnau-2026-cabinet"})

    assert response.status_code == 400 and "votre nom" in response.text


def test_using_one_invitation_spends_the_others(app, client, make_account, invite) -> None:
    doctor = make_account()
    older, newer = invite(doctor), invite(doctor)

    client.submit(f"/invitation/{newer}", {"password": PASSWORD, "confirmation": PASSWORD})

    assert client.get(f"/invitation/{older}").status_code == 410


def test_the_token_is_stored_hashed(app, make_account, invite) -> None:
    token = invite(make_account())

    with app.state.db.session() as session:
        [row] = session.exec(select(Invitation)).all()
    assert token not in row.token_hash and len(row.token_hash) == 64
    assert row.expires_at - row.created_at == timedelta(days=7)


def test_the_invite_command_prints_a_link(app, make_account, monkeypatch, database_url: str) -> None:
    from bouquet.cli import build_cli

    monkeypatch.setenv("BOUQUET_DATABASE_URL", database_url)
    monkeypatch.setenv("BOUQUET_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("BOUQUET_BASE_URL", "https://bouquet.example.fr")
    monkeypatch.setenv("BOUQUET_PLUGINS", "")
    doctor = make_account(username="dr.dupont")

    result = CliRunner().invoke(build_cli(), ["accounts", "invite", "DR.DUPONT", "--days", "3"])
    missing = CliRunner().invoke(build_cli(), ["accounts", "invite", "nobody"])

    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith("https://bouquet.example.fr/invitation/") and len(link.rsplit("/", 1)[1]) == 43
    with app.state.db.session() as session:
        state, _invitation, account = invitations.lookup(session, link.rsplit("/", 1)[1])
    assert state == invitations.InvitationState.valid and account.id == doctor.id
    [created] = events(app, "account.invitation_created")
    assert created.actor.startswith("cli") and created.details["expires_at"]
    assert missing.exit_code == 1 and "no account" in missing.output


def test_an_invitation_is_refused_while_someone_else_is_signed_in(app, client, make_account, invite) -> None:
    doctor, admin = make_account(), make_account(kind="admin")
    token = invite(doctor)
    client.login(admin)

    page = client.get(f"/invitation/{token}")
    post = client.submit(f"/invitation/{token}", {"password": PASSWORD, "confirmation": PASSWORD})

    assert page.status_code == 409 and "Déconnectez-vous" in page.text
    assert post.status_code == 409 and stored(app, doctor).password_hash is None
