"""Route helpers: which endpoints are public, and which route template a request matched."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Scope

F = TypeVar("F", bound=Callable[..., Any])


def public(endpoint: F) -> F:
    """Mark an endpoint as reachable without a signed-in account (sign-in pages, health, APIs that
    authenticate their callers themselves). Every other endpoint requires a full sign-in."""
    endpoint.bouquet_public = True  # type: ignore[attr-defined]
    return endpoint


def sessionless(endpoint: F) -> F:
    """Mark a public endpoint that does not read the browser's session (token, userinfo, health,
    static files): `ContextMiddleware` loads no session, account or patient for it, so a cookie costs
    it nothing. An endpoint that sometimes needs them asks with `web.context.full_context`."""
    endpoint.bouquet_sessionless = True  # type: ignore[attr-defined]
    return public(endpoint)


def provider_page(endpoint: F) -> F:
    """Mark a page of the OpenID provider itself (consent, identity confirmation): it serves every
    relying party alike, so it needs the provider's sign-in (both factors), not the portal's."""
    endpoint.bouquet_provider_page = True  # type: ignore[attr-defined]
    return endpoint


def resolve(routes: Sequence[BaseRoute], scope: Scope, prefix: str = "") -> tuple[str, Any] | None:
    """The route template (e.g. `/p/dmp/documents/{id}`) and endpoint a request would reach."""
    for route in routes:
        match, child = route.matches(scope)
        if match != Match.FULL:
            continue
        path = getattr(route, "path", "")
        if isinstance(route, Mount):
            if route.routes:
                return resolve(route.routes, {**scope, **child}, prefix + path)
            return prefix + path, getattr(route, "app", None)
        return prefix + path, getattr(route, "endpoint", None)
    return None


def resolved(routes: Sequence[BaseRoute], scope: Scope) -> tuple[str, Any] | None:
    """`resolve`, once per request: the first caller (the outermost middleware, before routing changes
    the scope's `root_path`) stores the answer in the request's state, later ones read it."""
    state = scope.setdefault("state", {})
    if "route_match" not in state:
        state["route_match"] = resolve(routes, scope)
    return state["route_match"]


def is_public(endpoint: Any) -> bool:
    return bool(getattr(endpoint, "bouquet_public", False))


def is_sessionless(endpoint: Any) -> bool:
    return bool(getattr(endpoint, "bouquet_sessionless", False))


def is_provider_page(endpoint: Any) -> bool:
    return bool(getattr(endpoint, "bouquet_provider_page", False))
