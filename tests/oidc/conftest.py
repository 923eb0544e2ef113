"""Fixtures for the OpenID provider's tests; the helpers themselves are in `bouquet.testing.oidc`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bouquet.testing.oidc import Browser, Portal, RelyingParty, make_relying_party


@pytest.fixture
def portal(make_live_server: Callable[..., Any]) -> Portal:
    server = make_live_server()
    return Portal(server.url, server.app)


@pytest.fixture
def browsers(portal: Portal) -> Iterator[Callable[[], Browser]]:
    made: list[Browser] = []

    def make() -> Browser:
        browser = Browser(portal)
        made.append(browser)
        return browser

    yield make
    for browser in made:
        browser.close()


@pytest.fixture
def make_rp(portal: Portal) -> Iterator[Callable[..., RelyingParty]]:
    """`make_rp(**register_client fields, auth=…)`: register a client and get an authlib client for it."""
    made: list[Any] = []

    def make(**fields: Any) -> RelyingParty:
        rp = make_relying_party(portal, **fields)
        made.append(rp.oauth)
        return rp

    yield make
    for oauth in made:
        oauth.close()
