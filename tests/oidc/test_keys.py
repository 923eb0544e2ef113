"""Signing keys: sealed at rest, rotated with notice, old ones published until what they signed expires;
and the `bouquet keys` / `bouquet clients` commands."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from cryptography.exceptions import InvalidTag
from joserfc.errors import JoseError
from sqlmodel import select

from bouquet.foundation.db import utcnow
from bouquet.sso.oidc import keys
from bouquet.sso.oidc.clients import find_client
from bouquet.sso.oidc.models import SigningKey
from bouquet.sso.oidc.server import provider_of
from bouquet.testing.fixtures import TEST_SECRET


def _kid(jwt_value: str) -> str:
    return json.loads(base64.urlsafe_b64decode(jwt_value.split(".")[0] + "==="))["kid"]


def test_private_keys_are_sealed_with_a_key_derived_from_the_secret(app):
    with app.state.db.write() as session:
        created = keys.ensure_keys(session, TEST_SECRET)
        assert {key.alg for key in created} == {"RS256", "ES256"}
        assert keys.ensure_keys(session, TEST_SECRET) == []
    for row in created:
        private = keys.unseal(TEST_SECRET, row.kid, row.sealed_private_jwk)
        assert private["d"] not in row.sealed_private_jwk and "d" not in row.public_jwk
        with pytest.raises(InvalidTag):
            keys.unseal("another-secret-key-0123456789abcdef", row.kid, row.sealed_private_jwk)


def test_a_rotation_publishes_first_signs_later_and_keeps_the_old_key_for_its_tokens(portal, browsers, make_rp,
                                                                                     make_account):
    rp = make_rp()
    browser = browsers().sign_in(make_account())
    keyring = provider_of(portal.app).keyring
    before = rp.sign_in(browser)["id_token"]
    old_kid = _kid(before)

    with portal.db.write() as session:
        new_rs256 = next(key for key in keys.rotate(session, TEST_SECRET) if key.alg == "RS256")
    keyring.invalidate()
    published = {key["kid"] for key in portal.jwks().as_dict()["keys"]}
    assert {old_kid, new_rs256.kid} <= published
    assert _kid(rp.sign_in(browser)["id_token"]) == old_kid  # the new key is only announced for now

    start = utcnow()
    keyring.clock = lambda: start + keys.PUBLISH_AHEAD + timedelta(seconds=1)
    keyring.invalidate()
    after = rp.sign_in(browser)["id_token"]
    assert _kid(after) == new_rs256.kid
    assert portal.id_claims(before, rp.client_id)["sub"]  # tokens of the old key still verify
    assert portal.id_claims(after, rp.client_id)["sub"]

    keyring.clock = lambda: start + keys.PUBLISH_AHEAD + keys.KEEP_PUBLISHED + timedelta(minutes=1)
    keyring.invalidate()
    assert old_kid not in {key["kid"] for key in portal.jwks().as_dict()["keys"]}
    with pytest.raises(JoseError):
        portal.id_claims(before, rp.client_id)


@pytest.fixture
def cli(monkeypatch, database_url):
    monkeypatch.setenv("BOUQUET_DATABASE_URL", database_url)
    monkeypatch.setenv("BOUQUET_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("BOUQUET_LOG_JSON", "false")
    from bouquet.cli import build_cli

    runner = CliRunner()
    return lambda *args: runner.invoke(build_cli(), list(args), catch_exceptions=False)


def test_keys_rotate_at_the_command_line(cli, app):
    result = cli("keys", "rotate", "--publish-ahead", "600")
    assert result.exit_code == 0, result.output
    assert "RS256 key" in result.output and "ES256 key" in result.output
    with app.state.db.session() as session:
        rows = session.exec(select(SigningKey)).all()
    assert len(rows) == 4 and sum(1 for row in rows if row.retires_at is None) == 2
    listed = cli("keys", "list")
    assert listed.output.count("signs") == 4


def test_clients_add_prints_the_secret_once(cli, app):
    result = cli("clients", "add", "--name", "Logiciel de cabinet", "--redirect-uri", "https://lgc.example/cb",
                 "--grant-type", "authorization_code", "--grant-type", "client_credentials", "--scope", "openid launch",
                 "--backchannel-logout-uri", "https://lgc.example/logout")
    assert result.exit_code == 0, result.output
    client_id = result.output.split("client_id: ")[1].split()[0]
    secret = result.output.split("client_secret: ")[1].split()[0]
    with app.state.db.session() as session:
        client = find_client(session, client_id)
    assert client is not None and client.check_client_secret(secret) and client.secret_hash != secret
    assert client.grant_types == ["authorization_code", "client_credentials"]
    assert client_id in cli("clients", "list").output
    refused = CliRunner().invoke(__import__("bouquet.cli", fromlist=["build_cli"]).build_cli(),
                                 ["clients", "add", "--name", "X", "--redirect-uri", "http://lgc.example/cb"])
    assert refused.exit_code != 0 and "https" in refused.output
