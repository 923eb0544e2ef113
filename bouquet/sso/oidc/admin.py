"""The operator's client pages (`/admin/clients`): list, register, inspect, disable, new secret.

Administrators only (403 for anyone else). A new secret is shown once, on the response that made
it; every change is written to the audit trail in the same transaction.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bouquet.sso.accounts import AccountKind
from bouquet.sso.oidc import clients
from bouquet.sso.oidc.models import OidcClient
from bouquet.sso.oidc.scopes import KnownScopes, known_scopes
from bouquet.web.context import RequestContext, get_context
from bouquet.web.ui import render

KINDS = {
    "client_secret_basic": "Application serveur avec un secret (client_secret_basic)",
    "client_secret_post": "Application serveur avec un secret envoyé dans le formulaire (client_secret_post)",
    "private_key_jwt": "Application serveur avec une clé (private_key_jwt)",
    "none": "Application publique, sans secret (PKCE obligatoire)",
}
ACTIONS = {"disable": "L'application est désactivée et ses jetons sont révoqués.",
           "enable": "L'application est réactivée.",
           "new-secret": "Un nouveau secret a été créé ; l'ancien ne fonctionne plus."}


def _admin(ctx: RequestContext) -> None:
    if ctx.account is None or ctx.account.kind != AccountKind.admin:
        raise HTTPException(403, "Ces pages sont réservées aux administrateurs de Bouquet.")


def _lines(value: Any) -> list[str]:
    return [line.strip() for line in str(value or "").splitlines() if line.strip()][:20]


async def clients_list(request: Request) -> Response:
    ctx = get_context(request)
    _admin(ctx)

    def load() -> list[OidcClient]:
        with ctx.db.session() as session:
            return list(session.exec(select(OidcClient).order_by(OidcClient.name)).all())

    return await render(request, "oidc/admin_clients.html", {"clients": await ctx.db.run(load), "kinds": KINDS})


def _form_context(values: dict[str, Any], errors: dict[str, str], known: KnownScopes) -> dict[str, Any]:
    return {"values": values, "errors": errors, "kinds": KINDS, "scopes": list(known.descriptions.items())}


async def new_client(request: Request) -> Response:
    ctx = get_context(request)
    _admin(ctx)
    known = known_scopes(request.app)  # the core's and the loaded plugins'
    if request.method == "GET":
        return await render(request, "oidc/admin_client_new.html", _form_context(
            {"token_endpoint_auth_method": "client_secret_basic", "scope": clients.DEFAULT_SCOPE.split(),
             "grant_types": ["authorization_code"], "id_token_signed_response_alg": "RS256", "pkce_required": True},
            {}, known))
    form = await request.form(max_files=0, max_fields=60)
    values: dict[str, Any] = {
        "name": str(form.get("name", ""))[:200], "client_uri": str(form.get("client_uri", ""))[:500],
        "token_endpoint_auth_method": str(form.get("token_endpoint_auth_method", "")),
        "redirect_uris": _lines(form.get("redirect_uris")), "post_logout_redirect_uris": _lines(form.get("post_logout_redirect_uris")),
        "backchannel_logout_uri": str(form.get("backchannel_logout_uri", ""))[:1000],
        "grant_types": [str(value) for value in form.getlist("grant_types")],
        "scope": [str(value) for value in form.getlist("scope")],
        "first_party": form.get("first_party") == "on", "may_introspect": form.get("may_introspect") == "on",
        "pkce_required": form.get("legacy_without_pkce") != "on",
        "id_token_signed_response_alg": str(form.get("id_token_signed_response_alg", "RS256")),
        "jwks": str(form.get("jwks", ""))[:20_000],
    }
    grant_types = list(values["grant_types"])
    if "authorization_code" in grant_types and values["token_endpoint_auth_method"] != "none":
        grant_types.append("refresh_token")
    jwks: dict[str, Any] | None = None
    errors: dict[str, str] = {}
    if values["token_endpoint_auth_method"] == "private_key_jwt":
        try:
            jwks = json.loads(values["jwks"] or "null")
        except ValueError:
            errors["jwks"] = "Le jeu de clés n'est pas un JSON valide."

    def create() -> clients.RegisteredClient:
        with ctx.db.write() as session:
            registered = clients.register_client(
                session, name=values["name"], client_uri=values["client_uri"],
                token_endpoint_auth_method=values["token_endpoint_auth_method"], redirect_uris=values["redirect_uris"],
                post_logout_redirect_uris=values["post_logout_redirect_uris"],
                backchannel_logout_uri=values["backchannel_logout_uri"], grant_types=grant_types,
                scope=" ".join(values["scope"]), first_party=values["first_party"], may_introspect=values["may_introspect"],
                id_token_signed_response_alg=values["id_token_signed_response_alg"], jwks=jwks,
                created_by=ctx.account.label if ctx.account else "", known_scopes=known,
                pkce_required=values["pkce_required"])
            ctx.audit.write_in(session, "oidc.client_registered", resource=f"client:{registered.client.client_id}",
                               details={"name": registered.client.name, "grant_types": registered.client.grant_types})
            return registered

    try:
        if errors:
            raise clients.InvalidClient(errors)
        registered = await ctx.db.run(create)
    except clients.InvalidClient as invalid:
        return await render(request, "oidc/admin_client_new.html", _form_context(values, invalid.problems, known),
                            status_code=400)
    # Shown once, on this response only: the secret is stored hashed.
    return await render(request, "oidc/admin_client.html", {"client": registered.client, "secret": registered.secret,
                                                            "kinds": KINDS, "created": True})


async def client_page(request: Request) -> Response:
    ctx = get_context(request)
    _admin(ctx)
    client = await ctx.db.run(_find, ctx, request.path_params["client_id"])
    return await render(request, "oidc/admin_client.html", {"client": client, "secret": None, "kinds": KINDS})


def _find(ctx: RequestContext, client_id: str) -> OidcClient:
    with ctx.db.session() as session:
        client = clients.find_client(session, client_id)
    if client is None:
        raise HTTPException(404, "Cette application n'existe pas.")
    return client


async def client_action(request: Request) -> Response:
    ctx = get_context(request)
    _admin(ctx)
    client_id, action = request.path_params["client_id"], request.path_params["action"]
    if action not in ACTIONS:
        raise HTTPException(404)

    def apply() -> tuple[OidcClient, str | None]:
        secret = None
        with ctx.db.write() as session:
            client = clients.find_client(session, client_id)
            if client is None:
                raise HTTPException(404, "Cette application n'existe pas.")
            details: dict[str, Any] = {}
            if action == "disable" and client.client_id == "bouquet-portal":  # bouquet.sso.portal.CLIENT_ID
                raise HTTPException(400, "Le portail se connecte par cette application : elle ne peut pas être désactivée.")
            if action == "new-secret":
                if client.token_endpoint_auth_method not in clients.SECRET_METHODS:
                    raise HTTPException(400, "Cette application ne s'authentifie pas avec un secret.")
                secret = clients.new_secret(session, client)
            else:
                details["tokens_revoked"] = clients.set_active(session, client, action == "enable")
            ctx.audit.write_in(session, f"oidc.client_{action.replace('-', '_')}", resource=f"client:{client_id}",
                               details=details)
            return client, secret

    client, secret = await ctx.db.run(apply)
    if secret is not None:
        return await render(request, "oidc/admin_client.html", {"client": client, "secret": secret, "kinds": KINDS})
    ctx.flash(ACTIONS[action], "success")
    return RedirectResponse(f"/admin/clients/{client_id}", status_code=303)


routes = [
    Route("/admin/clients", clients_list, methods=["GET"]),
    Route("/admin/clients/new", new_client, methods=["GET", "POST"]),
    Route("/admin/clients/{client_id}", client_page, methods=["GET"]),
    Route("/admin/clients/{client_id}/{action}", client_action, methods=["POST"]),
]
