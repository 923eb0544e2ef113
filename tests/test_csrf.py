"""CSRF: a state-changing browser request without its session's token changes nothing."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bouquet.foundation.audit import AuditEvent


@pytest.fixture
def signed_in(example_plugin, migrated_with_plugins, make_app, request):
    from bouquet.testing.fixtures import BouquetClient

    migrated_with_plugins()
    make_account = request.getfixturevalue("make_account")  # its app needs the example's migration first
    app = make_app()
    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as client:
        client.login(make_account())
        yield client


def _notes(client):
    from bouquet_example import ExampleNote

    with client.app.state.db.session() as session:
        return [note.text for note in session.exec(select(ExampleNote))]


def _audited(client):
    with client.app.state.db.session() as session:
        return [event.action for event in session.exec(select(AuditEvent).order_by(AuditEvent.seq))]


def test_form_with_token_goes_through_and_is_audited(signed_in):
    response = signed_in.submit("/p/example/notes", {"text": "bonjour"})
    assert response.status_code == 201
    assert _notes(signed_in) == ["bonjour"]
    assert _audited(signed_in) == ["example.note_added"]


@pytest.mark.parametrize("token", [None, "", "0" * 64])
def test_form_without_the_right_token_is_refused(signed_in, token):
    data = {"text": "bonjour"} if token is None else {"text": "bonjour", "csrf_token": token}
    response = signed_in.post("/p/example/notes", data=data, headers={"accept": "text/html"})
    assert response.status_code == 403
    # Nothing was done; the page leads back to the form, where what was typed is put back (static/bouquet.js);
    # the refusal itself is in the audit trail (issue 13, item 11).
    assert "rien n&#39;a été modifié" in response.text and 'data-bq-stale-form' in response.text
    assert _notes(signed_in) == [] and _audited(signed_in) == ["access.refused"]


def test_token_of_another_session_is_refused(signed_in, make_account):
    other = signed_in.csrf_token
    signed_in.login(make_account())
    assert signed_in.post("/p/example/notes", data={"text": "x", "csrf_token": other}).status_code == 403


def test_htmx_header_token(signed_in):
    response = signed_in.post("/p/example/notes", data={"text": "via htmx"},
                              headers={"x-csrf-token": signed_in.csrf_token, "hx-request": "true"})
    assert response.status_code == 201


def test_multipart_form_token(signed_in):
    response = signed_in.post("/p/example/notes", data={"text": "multipart", "csrf_token": signed_in.csrf_token},
                              files={"attachment": ("a.txt", b"hello", "text/plain")})
    assert response.status_code == 201


def test_cross_site_origin_is_refused_even_with_token(signed_in):
    response = signed_in.post("/p/example/notes", data={"text": "x", "csrf_token": signed_in.csrf_token},
                              headers={"origin": "https://evil.example"})
    assert response.status_code == 403
    assert _notes(signed_in) == []


def test_form_post_without_any_session_is_refused(client):
    # A login-CSRF attempt arrives without cookie (SameSite): refused, not treated as an API call.
    response = client.post("/p/example/notes", data={"text": "x"})
    assert response.status_code == 403
