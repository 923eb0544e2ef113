"""Bouquet's OpenID Connect provider, in the manner of Pro Santé Connect. See `docs/oidc.md`.

What other modules and plugins use:

- `register_client(session, name=…, redirect_uris=[…], …, known_scopes=known_scopes(app)) -> RegisteredClient`
  (`clients`); `known_scopes(app)`: the scopes the app's provider knows, the core's and those plugins
  declare with `bouquet_scopes` (`scopes`);
- `await authenticate_bearer(request, scope="launch", audience=None) -> AccessGrant` (`bearer`), whose
  `patient_context_id` and `audience` come from a SMART launch or an RFC 8693 token exchange (`exchange`);
- `routes`, `CSRF_EXEMPT` and `CSRF_CROSS_SITE`, mounted by `bouquet.app`.

Names load on first use, so that importing the built-in plugin stays cheap for the command line.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "register_client": "bouquet.sso.oidc.clients",
    "RegisteredClient": "bouquet.sso.oidc.clients",
    "InvalidClient": "bouquet.sso.oidc.clients",
    "known_scopes": "bouquet.sso.oidc.scopes",
    "KnownScopes": "bouquet.sso.oidc.scopes",
    "authenticate_bearer": "bouquet.sso.oidc.bearer",
    "validate_access_token": "bouquet.sso.oidc.bearer",
    "AccessGrant": "bouquet.sso.oidc.bearer",
    "BearerTokenError": "bouquet.sso.oidc.bearer",
    "routes": "bouquet.sso.oidc.endpoints",
    "CSRF_EXEMPT": "bouquet.sso.oidc.endpoints",
    "CSRF_CROSS_SITE": "bouquet.sso.oidc.endpoints",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(module), name)
