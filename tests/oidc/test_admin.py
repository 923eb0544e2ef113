"""The operator's client pages: administrators only; a secret shown once; disabling revokes tokens."""

from __future__ import annotations

import re

from sqlmodel import select

from bouquet.foundation.audit import AuditEvent
from bouquet.sso.oidc import tokens
from bouquet.sso.oidc.clients import find_client
from bouquet.sso.oidc.models import Token


def _shown(page: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">([^<]+)<', page)
    assert match, page[:400]
    return match.group(1)


def test_only_administrators_see_the_client_pages(client, make_account):
    client.login(make_account())
    assert client.get("/admin/clients").status_code == 403
    assert client.submit("/admin/clients/new", {"name": "X"}).status_code == 403


def test_an_administrator_registers_a_client_and_sees_its_secret_once(client, make_account, app):
    client.login(make_account(kind="admin"))
    assert "Applications" in client.get("/").text  # in the menu
    form = {"name": "Agenda Santé", "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code"], "redirect_uris": "https://agenda.example/cb\n",
            "scope": ["openid", "profile"], "backchannel_logout_uri": "https://agenda.example/logout",
            "id_token_signed_response_alg": "ES256"}
    created = client.submit("/admin/clients/new", form)
    assert created.status_code == 200
    client_id, secret = _shown(created.text, "client-id"), _shown(created.text, "client-secret")
    with app.state.db.session() as session:
        stored = find_client(session, client_id)
        events = session.exec(select(AuditEvent.action)).all()
    assert stored.check_client_secret(secret) and stored.grant_types == ["authorization_code", "refresh_token"]
    assert stored.id_token_signed_response_alg == "ES256" and not stored.first_party
    assert "oidc.client_registered" in events
    page = client.get(f"/admin/clients/{client_id}")
    assert secret not in page.text and "Agenda Santé" in page.text
    assert "Agenda Santé" in client.get("/admin/clients").text


def test_the_form_says_what_is_wrong(client, make_account):
    client.login(make_account(kind="admin"))
    refused = client.submit("/admin/clients/new", {"name": "", "token_endpoint_auth_method": "client_secret_basic",
                                                    "grant_types": ["authorization_code"],
                                                    "redirect_uris": "http://agenda.example/cb"})
    assert refused.status_code == 400
    assert "Indiquez le nom" in refused.text and "doit être une adresse https" in refused.text


def test_disabling_a_client_revokes_its_tokens_and_a_new_secret_replaces_the_old(client, make_account, app):
    client.login(make_account(kind="admin"))
    created = client.submit("/admin/clients/new", {
        "name": "Agenda", "token_endpoint_auth_method": "client_secret_basic", "grant_types": ["authorization_code"],
        "redirect_uris": "https://agenda.example/cb", "scope": ["openid"]})
    client_id, secret = _shown(created.text, "client-id"), _shown(created.text, "client-secret")
    with app.state.db.write() as session:
        row = tokens.save_token(session, {"access_token": "t" * 43, "expires_in": 300}, client_id=client_id,
                                grant_id="g", refresh_expires_at=None)

    renewed = client.submit(f"/admin/clients/{client_id}/new-secret")
    new_secret = _shown(renewed.text, "client-secret")
    assert client.submit(f"/admin/clients/{client_id}/disable").status_code == 303
    with app.state.db.session() as session:
        stored = find_client(session, client_id)
        assert not stored.active and stored.check_client_secret(new_secret) and not stored.check_client_secret(secret)
        assert session.get(Token, row.id).revoked_reason == "client_disabled"
    assert client.submit(f"/admin/clients/{client_id}/enable").status_code == 303
