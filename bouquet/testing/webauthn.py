"""A software WebAuthn authenticator for tests without a browser.

It answers the JSON options Bouquet sends (`…/options`) with the JSON `static/webauthn.js`
would post back, built by hand: an ES256 key pair, attestation "none", assertion signatures
over `authenticatorData || SHA-256(clientDataJSON)`. Every field a test may want wrong can be
made wrong: origin, rp id, the user-verified flag, the signature counter, the user handle.

    key = SoftAuthenticator(origin="http://testserver")
    options = client.post("/enrol/webauthn/options", headers=headers).json()
    client.post("/enrol/webauthn", json={"credential": key.register(options)}, headers=headers)
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from typing import Any
from urllib.parse import urlsplit

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

__all__ = ["SoftAuthenticator"]

# Authenticator data flags (WebAuthn §6.1).
UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
AAGUID = bytes.fromhex("b0757e7e000000000000000000b0c0e7")


class SoftAuthenticator:
    """One credential on a pretend authenticator, for the site at `origin`.

    `backup_eligible` makes it a synced passkey (BE and BS flags); `counter_step` is how much
    the signature counter grows per assertion (0: an authenticator without a counter).
    """

    def __init__(self, origin: str, *, backup_eligible: bool = False, counter_step: int = 1,
                 discoverable: bool = True) -> None:
        self.origin = origin
        self.rp_id = urlsplit(origin).hostname or ""
        self.backup_eligible = backup_eligible
        self.counter_step = counter_step
        self.discoverable = discoverable
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = 0
        self.user_handle: bytes | None = None

    @property
    def id(self) -> str:
        """The credential id, base64url (as stored and as the browser reports it)."""
        return bytes_to_base64url(self.credential_id)

    def register(self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None,
                 user_verified: bool = True, challenge: str | None = None) -> dict[str, Any]:
        """The response to `navigator.credentials.create(options)`, as webauthn.js posts it."""
        self.user_handle = base64url_to_bytes(options["user"]["id"])
        client_data = self._client_data("webauthn.create", challenge or options["challenge"], origin)
        public = self.private_key.public_key().public_numbers()
        cose_key = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: public.x.to_bytes(32, "big"), -3: public.y.to_bytes(32, "big")})
        attested = AAGUID + struct.pack(">H", len(self.credential_id)) + self.credential_id + cose_key
        auth_data = self._auth_data(rp_id, user_verified, AT) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": self.id, "rawId": self.id, "type": "public-key", "authenticatorAttachment": "cross-platform",
            "clientExtensionResults": {"credProps": {"rk": self.discoverable}},
            "response": {"clientDataJSON": bytes_to_base64url(client_data),
                         "attestationObject": bytes_to_base64url(attestation), "transports": ["usb"]},
        }

    def assertion(self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None,
                  user_verified: bool = True, sign_count: int | None = None, user_handle: bool = True,
                  challenge: str | None = None) -> dict[str, Any]:
        """The response to `navigator.credentials.get(options)`; the counter moves by `counter_step`
        unless `sign_count` forces a value."""
        allowed = [descriptor["id"] for descriptor in options.get("allowCredentials") or []]
        assert not allowed or self.id in allowed, "this credential is not among allowCredentials"
        self.sign_count = sign_count if sign_count is not None else self.sign_count + self.counter_step
        client_data = self._client_data("webauthn.get", challenge or options["challenge"], origin)
        auth_data = self._auth_data(rp_id, user_verified, 0)
        signature = self.private_key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        response = {"clientDataJSON": bytes_to_base64url(client_data),
                    "authenticatorData": bytes_to_base64url(auth_data), "signature": bytes_to_base64url(signature)}
        if user_handle and self.user_handle is not None:
            response["userHandle"] = bytes_to_base64url(self.user_handle)
        return {"id": self.id, "rawId": self.id, "type": "public-key", "clientExtensionResults": {},
                "response": response}

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def _auth_data(self, rp_id: str | None, user_verified: bool, extra_flags: int) -> bytes:
        flags = UP | extra_flags | (UV if user_verified else 0) | ((BE | BS) if self.backup_eligible else 0)
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        return rp_hash + bytes([flags]) + struct.pack(">I", self.sign_count)
