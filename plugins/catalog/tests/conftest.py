"""Fixtures for the catalogue tests: the vendor, the operator, the doctor, images, and a valid submission form."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from bouquet.testing.fixtures import BouquetClient

SIREN = "999000011"


def png(width: int = 64, height: int = 64, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (0, 99, 203)).save(buffer, fmt)
    return buffer.getvalue()


def form(**overrides: Any) -> dict[str, Any]:
    """A valid vendor form (multi-valued fields as lists)."""
    values: dict[str, Any] = {
        "name": "Télésurveillance Cœur Connecté", "category": "TLS", "version": "3.2",
        "description": "Suivi à domicile de l'insuffisance cardiaque.\n\nAlertes à l'équipe soignante.",
        "professions": ["10", "60"], "regions": ["84"], "claim_ce": "1", "claim_ce_detail": "IIa",
        "claim_ce_evidence": "Certificat CE n° 42", "claim_hds": "1", "claim_hds_detail": "AFNOR",
        "claim_hds_evidence": "HDS-2025-1", "website": "https://coeur.example",
        "launch_url": "https://coeur.example/launch", "redirect_uris": "https://coeur.example/callback",
        "action": "submit",
    }
    values.update(overrides)
    return values


@pytest.fixture
def vendor(make_account: Callable[..., Any]) -> Any:
    return make_account(kind="vendor", given_name="Paul", family_name="LAMBERT", organisation="Cœur Logiciels", siren=SIREN)


@pytest.fixture
def operator(make_account: Callable[..., Any]) -> Any:
    return make_account(kind="admin", given_name="Camille", family_name="ROUX")


@pytest.fixture
def doctor(make_account: Callable[..., Any]) -> Any:
    return make_account(given_name="Alice", family_name="MARTIN")


@pytest.fixture
def clients(client: BouquetClient) -> Callable[[Any], BouquetClient]:
    """`clients(account, acting_for=None)`: another test client of the same (started) app, signed in as the account."""
    def make(account: Any, acting_for: Any = None) -> BouquetClient:
        other = BouquetClient(client.app, base_url="http://testserver.local", follow_redirects=False)
        return other.login(account, acting_for=acting_for)

    return make


def post_form(client: BouquetClient, url: str, values: dict[str, Any], files: Any = None) -> Any:
    """POST a multipart form with the CSRF token, as the browser sends the vendor form."""
    return client.post(url, data={**values, "csrf_token": client.csrf_token}, files=files or {"_": ("", b"")})


@pytest.fixture
def h() -> Any:
    """The helpers above, for test modules (conftest is not importable by name)."""
    from types import SimpleNamespace

    return SimpleNamespace(form=form, post_form=post_form, png=png)


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Any:
    # authlib refuses plain http except on localhost: the token endpoint is called in these tests.
    return make_app(base_url="http://localhost")
