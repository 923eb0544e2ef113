"""Trusted CDS clients: registration checks the keys, and the `bouquet prevention cds-clients` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from bouquet_prevention import bouquet_cli
from bouquet_prevention.cds_clients import ClientError, list_clients, register_client
from click.testing import CliRunner
from joserfc.jwk import ECKey, OctKey, RSAKey


def public_set(*keys: Any) -> dict[str, Any]:
    return {"keys": [key.as_dict(private=False) for key in keys]}


@pytest.mark.parametrize(("jwks", "words"), [
    ({"keys": []}, "non-empty"),
    ([], "non-empty"),
    ({"keys": [ECKey.generate_key("P-256", parameters={"kid": "k"}).as_dict(private=True)]}, "private part"),
    ({"keys": [OctKey.generate_key(256, parameters={"kid": "k"}).as_dict()]}, "only public RSA, EC or OKP"),
    ({"keys": [ECKey.generate_key("P-256").as_dict(private=False) | {"kid": ""}]}, "no kid"),
    ({"keys": [{"kty": "EC", "kid": "k", "crv": "P-256", "x": "AA", "y": "AA"}]}, "cannot be read"),
])
def test_unusable_keys_are_refused(app: Any, jwks: Any, words: str) -> None:
    with pytest.raises(ClientError, match=words):
        register_client(app.state.db, "https://lgc.example.fr", "LGC", jwks)
    assert list_clients(app.state.db) == []


def test_registering_again_replaces_the_keys(app: Any) -> None:
    first, second = (ECKey.generate_key("P-384", parameters={"kid": kid}) for kid in ("a", "b"))
    register_client(app.state.db, "https://lgc.example.fr", "LGC", public_set(first))
    register_client(app.state.db, "https://lgc.example.fr", "LGC v2", public_set(second, RSAKey.generate_key(
        2048, parameters={"kid": "rsa"})))
    [client] = list_clients(app.state.db)
    assert client.name == "LGC v2" and [key["kid"] for key in client.jwks["keys"]] == ["b", "rsa"]


def test_the_command_line_adds_lists_and_disables(database_url: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOUQUET_DATABASE_URL", database_url)
    monkeypatch.setenv("BOUQUET_SECRET_KEY", "x" * 40)
    group = click.Group()
    bouquet_cli(group)
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(public_set(ECKey.generate_key("P-384", parameters={"kid": "k1"}))))
    runner = CliRunner()
    added = runner.invoke(group, ["prevention", "cds-clients", "add", "--iss", "https://lgc.example.fr",
                                  "--name", "LGC", "--jwks", str(jwks_file)])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(group, ["prevention", "cds-clients", "list"])
    assert "https://lgc.example.fr\tLGC\tactive\t1 key(s)" in listed.output
    assert runner.invoke(group, ["prevention", "cds-clients", "disable", "https://lgc.example.fr"]).exit_code == 0
    assert "\tdisabled\t" in runner.invoke(group, ["prevention", "cds-clients", "list"]).output
    again = runner.invoke(group, ["prevention", "cds-clients", "disable", "https://lgc.example.fr"])
    assert again.exit_code == 1 and "no active CDS client" in again.output
    jwks_file.write_text("{not json")
    broken = runner.invoke(group, ["prevention", "cds-clients", "add", "--iss", "x", "--name", "X", "--jwks", str(jwks_file)])
    assert broken.exit_code == 1
