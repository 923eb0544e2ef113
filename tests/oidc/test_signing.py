"""ID tokens are signed after the token request's write transaction has committed, never inside it."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc.jwk import OctKey

from bouquet.sso.oidc import adapter, signing


def test_the_id_token_is_signed_outside_the_write_transaction(portal, browsers, make_rp, make_account, monkeypatch):
    signed_inside: list[bool] = []
    encode = signing.jwt.encode

    def watched(*args: Any, **kwargs: Any) -> str:
        signed_inside.append(adapter.bound() is not None)  # a transaction bound = inside Provider.transaction
        return encode(*args, **kwargs)

    monkeypatch.setattr(signing.jwt, "encode", watched)
    doctor = make_account()
    rp = make_rp()
    token = rp.sign_in(browsers().sign_in(doctor))

    assert signed_inside == [False]
    assert "bouquet-unsigned" not in token["id_token"]
    claims = portal.id_claims(token["id_token"], rp.client_id, nonce=rp.nonce)
    assert claims["sub"] == doctor.idnat_ps


def test_a_signature_with_no_place_in_the_response_is_an_error_not_a_leak():
    class Answer:
        body: dict[str, Any] = {"access_token": "x"}

    with signing.deferred() as pending:
        placeholder = signing.sign_later({"alg": "HS256"}, {"sub": "1"}, OctKey.import_key("k" * 32))
    assert placeholder.startswith("bouquet-unsigned-") and len(pending) == 1
    with pytest.raises(RuntimeError):
        signing.complete(Answer(), pending)
