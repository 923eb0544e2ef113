"""Fixtures of the prevention plugin's tests: a pinned "today", a doctor, a trusted CDS client and its
signing key. Helpers and constants are in `bouquet_prevention.testing`; the core's fixtures
(`client`, `make_app`, `make_account`…) come from `bouquet.testing`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from bouquet_prevention import clock
from bouquet_prevention.testing import CDS_ISS, ON, cds_jwt
from joserfc.jwk import ECKey


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> date:
    """Pin the plugin's clock to ON."""
    monkeypatch.setattr(clock, "today", lambda: ON)
    return ON


@pytest.fixture
def doctor(make_account: Callable[..., Any]) -> Any:
    return make_account(given_name="Alice", family_name="MARTIN")


@pytest.fixture
def signing_key() -> ECKey:
    """The CDS client's private key (P-384, as CDS Hooks recommends ES384)."""
    return ECKey.generate_key("P-384", parameters={"kid": "lgc-2026", "alg": "ES384", "use": "sig"})


@pytest.fixture
def cds_client(app: Any, signing_key: ECKey) -> str:
    """Register the test CDS client (its public key) and return its iss."""
    from bouquet_prevention.cds_clients import register_client

    register_client(app.state.db, CDS_ISS, "Logiciel de cabinet de test",
                    {"keys": [signing_key.as_dict(private=False)]})
    return CDS_ISS


@pytest.fixture
def make_jwt(signing_key: ECKey) -> Callable[..., str]:
    """`make_jwt(aud=…, exp_in=…, iat_in=…, jti=…, key=…, **claims)`: a JWT of the test CDS client."""
    def make(*args: Any, key: Any = None, **kwargs: Any) -> str:
        return cds_jwt(key or signing_key, *args, **kwargs)

    return make
