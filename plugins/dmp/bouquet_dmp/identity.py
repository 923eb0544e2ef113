"""Who is asking the DMP: the professional's identity and the patient's INS, signed, on every call.

The MHD client sends the header `X-Bouquet-Dmp-Identity: <payload>.<signature>`: the payload is
base64url JSON (`sub`, `name`, `idnat`, `kind`, `profession`, `for_idnat`, `for_name`,
`patient` = '<oid>|<matricule>', `iat`), the signature an HMAC-SHA256 over it with the key
`bouquet.foundation.keys.derive_key(BOUQUET_SECRET_KEY, "dmp-identity")`. The DMP service (embedded, or run
alone with `bouquet dmp-service` with the same secret) checks the signature and the age, and
refuses a request about any other patient than the signed one.
"""

from __future__ import annotations

import base64
import hmac
import json
import time
from dataclasses import asdict, dataclass
from hashlib import sha256
from typing import Any

from bouquet.api.keys import derive_key
from bouquet_dmp.matrix import SECRETARY

HEADER = "X-Bouquet-Dmp-Identity"
PURPOSE = "dmp-identity"
#: How old a signed identity may be (clock skew between hosts included).
MAX_AGE_SECONDS = 300


class IdentityError(ValueError):
    """The identity header is missing, forged, expired or malformed."""


@dataclass(frozen=True)
class Caller:
    """The professional (or secretary acting for one) on whose behalf the DMP is called."""

    sub: str
    name: str
    kind: str
    patient: str
    idnat: str | None = None
    profession: str | None = None
    for_idnat: str | None = None
    for_name: str | None = None
    #: The patient context came from the professional's practice software (a launch attesting a consultation).
    attested_care: bool = False
    iat: int = 0

    @property
    def matrix_profession(self) -> str | None:
        """The row of the access matrix this caller reads with."""
        return SECRETARY if self.kind == "secretary" else self.profession


def key_for(secret: str) -> bytes:
    return derive_key(secret, PURPOSE)


def sign(caller: Caller, key: bytes) -> str:
    """The header value for `caller` (stamped now)."""
    data = asdict(caller) | {"iat": int(time.time())}
    payload = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=")
    signature = base64.urlsafe_b64encode(hmac.new(key, payload, sha256).digest()).rstrip(b"=")
    return f"{payload.decode()}.{signature.decode()}"


def verify(value: str | None, key: bytes, *, now: float | None = None) -> Caller:
    """The caller a header value names; raises IdentityError."""
    if not value or value.count(".") != 1:
        raise IdentityError("identité du professionnel absente")
    payload, signature = value.split(".")
    expected = base64.urlsafe_b64encode(hmac.new(key, payload.encode(), sha256).digest()).rstrip(b"=").decode()
    if not hmac.compare_digest(expected, signature):
        raise IdentityError("signature de l'identité invalide")
    try:
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        caller = Caller(**data)
    except (ValueError, TypeError):
        raise IdentityError("identité illisible") from None
    if abs((now or time.time()) - caller.iat) > MAX_AGE_SECONDS:
        raise IdentityError("identité expirée")
    if not caller.patient or "|" not in caller.patient:
        raise IdentityError("INS du patient absent")
    return caller
