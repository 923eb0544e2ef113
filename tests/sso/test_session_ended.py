"""A browser whose session was ended elsewhere lands on the sign-in page told why."""

from __future__ import annotations

from markupsafe import escape

from bouquet.sso.portal import SESSION_ENDED
from bouquet.testing.fixtures import BouquetClient
from bouquet.testing.signin import follow


def _landing(client):
    return follow(client, client.get("/", headers={"accept": "text/html"}))


def test_after_an_administrator_ends_all_sessions_the_user_is_told_on_the_sign_in_page(app, client, make_account):
    admin = make_account(kind="admin", username="admin")
    doctor = make_account(username="dr.martin")
    client.login(doctor)
    assert client.get("/account").status_code == 200
    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as operator:
        done = operator.login(admin).submit(f"/admin/accounts/{doctor.id}/end-sessions", {"reason": "Poste volé"})
        assert done.status_code == 303
    page = _landing(client)
    assert page.url.path == "/login"
    assert str(escape(SESSION_ENDED["admin.sessions_ended"])) in page.text
    # Told once: the next visit of the sign-in page is an ordinary one.
    assert "Un administrateur" not in client.get("/login").text


def test_a_browser_that_never_signed_in_is_told_nothing(client):
    page = _landing(client)
    assert page.url.path == "/login" and 'fr-alert--warning' not in page.text
