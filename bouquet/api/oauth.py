"""Bouquet as an OAuth 2.0 / OpenID provider, for plugins: access tokens, clients, scopes.

    grant = validate_access_token(session, token, scope="catalog.submit")   # a plugin API's bearer check
    registered = register_client(session, name=..., redirect_uris=[...], ...)  # an app's OIDC client
"""

from bouquet.sso.oidc.bearer import BearerTokenError, authenticate_bearer, validate_access_token
from bouquet.sso.oidc.clients import (
    InvalidClient, RegisteredClient, find_client, new_secret, register_client, set_active, uri_problem,
)
from bouquet.sso.oidc.models import OidcClient
from bouquet.sso.oidc.scopes import KnownScopes, known_scopes

__all__ = [
    "BearerTokenError", "InvalidClient", "KnownScopes", "OidcClient", "RegisteredClient", "authenticate_bearer",
    "find_client", "known_scopes", "new_secret", "register_client", "set_active", "uri_problem", "validate_access_token",
]
