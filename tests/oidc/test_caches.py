"""Each worker caches clients and signing keys; a change through one app instance is seen by another
instance on the same database at its very next request (generation counters, `foundation.generations`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, update

from bouquet.foundation import generations
from bouquet.foundation.db import utcnow
from bouquet.sso.oidc import clients, keys
from bouquet.sso.oidc.models import OidcClient
from bouquet.sso.oidc.server import provider_of
from bouquet.testing.fixtures import BouquetClient


def _client(app: Any) -> BouquetClient:
    return BouquetClient(app, base_url="http://testserver.local", follow_redirects=False)


def _token(http: BouquetClient, client_id: str, secret: str) -> Any:
    return http.post("/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))


def _generation(app: Any, name: str) -> int:
    with app.state.db.session() as session:
        return generations.current(session)[name]


def test_a_client_changed_through_one_instance_is_seen_by_another_at_once(make_app):
    first, second = make_app(), make_app()
    with first.state.db.write() as session:
        registered = clients.register_client(session, name="Logiciel de cabinet", grant_types=["client_credentials"],
                                             scope="launch")
    client_id, secret = registered.client.client_id, registered.secret
    assert secret is not None
    with _client(second) as other:
        assert _token(other, client_id, secret).status_code == 200  # cached by the second instance now
        seen: list[str] = []
        event.listen(second.state.db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
        assert _token(other, client_id, secret).status_code == 200
        assert not [s for s in seen if "FROM oidc_client" in s]  # served from the cache
        assert [s for s in seen if "FROM cache_generation" in s]  # after checking the counters

        # A new secret through the first instance: the old one stops working on the second at once.
        with first.state.db.write() as session:
            renewed = clients.new_secret(session, clients.find_client(session, client_id))
        assert _token(other, client_id, secret).status_code == 401
        assert _token(other, client_id, renewed).status_code == 200

        # Disabled through the first instance: refused by the second at once, enabled again: accepted.
        with first.state.db.write() as session:
            clients.set_active(session, clients.find_client(session, client_id), False)
        refused = _token(other, client_id, renewed)
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
        with first.state.db.write() as session:
            clients.set_active(session, clients.find_client(session, client_id), True)
        assert _token(other, client_id, renewed).status_code == 200


def test_a_rolled_back_change_moves_no_generation_and_a_committed_one_does(app):
    before = _generation(app, "oidc_clients")
    try:
        with app.state.db.write() as session:
            clients.register_client(session, name="Abandonnée", grant_types=["client_credentials"], scope="launch")
            raise RuntimeError("abandon")
    except RuntimeError:
        pass
    assert _generation(app, "oidc_clients") == before
    with app.state.db.write() as session:
        clients.register_client(session, name="Gardée", grant_types=["client_credentials"], scope="launch")
    assert _generation(app, "oidc_clients") == before + 1
    # A bulk statement on the table moves it too.
    with app.state.db.write() as session:
        session.execute(update(OidcClient).where(OidcClient.name == "Gardée").values(updated_at=utcnow()))
    assert _generation(app, "oidc_clients") == before + 2


def test_a_key_rotated_through_one_instance_is_published_by_another_at_once(make_app):
    first, second = make_app(), make_app()
    with _client(second) as other:
        published = {key["kid"] for key in other.get("/jwks").json()["keys"]}
        assert len(published) == 2
        with first.state.db.write() as session:
            new = keys.rotate(session, first.state.settings.secret_key)
        now = {key["kid"] for key in other.get("/jwks").json()["keys"]}
        assert now == published | {key.kid for key in new}
    # The second instance's provider cache saw the move; its first instance's too.
    assert {key["kid"] for key in provider_of(first).keyring.jwks()["keys"]} == now
