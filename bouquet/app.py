"""The application factory: `bouquet.app:create_app`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import timedelta

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from bouquet import home, migrations, ops
from bouquet import plugin_listing as listing
from bouquet.context_middleware import ContextMiddleware
from bouquet.foundation import logs
from bouquet.foundation.audit import AuditSealer
from bouquet.foundation.db import Database
from bouquet.foundation.keys import audit_key, derive_key
from bouquet.foundation.settings import Settings, load_settings
from bouquet.models import import_models
from bouquet.patient import fhir, launch, smart
from bouquet.patient import page as patient_page
from bouquet.patient.display import patient_display
from bouquet.plugins import Action, Plugins
from bouquet.sso import (
    account_pages,
    admin,
    delegation,
    invitations,
    portal,
    signin,
    webauthn_account,
    webauthn_pages,
)
from bouquet.sso.authz import Permissions
from bouquet.sso.oidc import endpoints as oidc
from bouquet.sso.oidc import scopes as oidc_scopes
from bouquet.sso.psc import pages as psc
from bouquet.web import errors
from bouquet.web.csrf import CSRFMiddleware
from bouquet.web.headers import SecurityHeadersMiddleware
from bouquet.web.limits import BodyLimitMiddleware
from bouquet.web.proxies import TrustedProxyMiddleware
from bouquet.web.refusals import RefusalAuditMiddleware
from bouquet.web.routing import sessionless
from bouquet.web.sessions import SessionStore, Timeouts, cookie_name
from bouquet.web.ui import make_environment, shell_dir

log = logging.getLogger("bouquet.app")


def create_app(settings: Settings | None = None, *, plugins: Plugins | None = None,
               extra_plugins: Iterable[tuple[str, object]] = ()) -> Starlette:
    """Build the portal: settings, database, plugins, routes and middleware.

    Raises `SettingsError` for a bad setting and `UnmigratedDatabase` for a database whose
    schema is behind, each with a message that says what to do.
    """
    settings = settings or load_settings()
    logs.configure(settings.log_level, settings.log_json)
    plugins = plugins or Plugins(settings.plugin_names, extra=extra_plugins)
    db = Database(settings.database_url)
    import_models(plugins)
    if settings.check_migrations:
        try:
            migrations.check(db.engine, plugins)
        except BaseException:
            db.dispose()
            raise

    routes: list[BaseRoute] = [
        *ops.routes,
        *listing.routes,
        *home.routes,
        *patient_page.routes,
        *signin.routes,
        *account_pages.routes,
        *webauthn_pages.routes,
        *webauthn_account.routes,
        *invitations.routes,
        *delegation.routes,
        *admin.routes,
        *oidc.routes,
        *portal.routes,
        *psc.routes,
        *launch.routes,
        *fhir.routes,
    ]
    routes += _plugin_routes(plugins)
    routes += _static_mounts(plugins)

    csrf_exempt: list[str] = [*oidc.CSRF_EXEMPT, *launch.CSRF_EXEMPT, *psc.CSRF_EXEMPT]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sealer = AuditSealer(db, app.state.audit_key)
        sealer.start()
        await plugins.acall("bouquet_startup", app=app)
        try:
            yield
        finally:
            await plugins.acall("bouquet_shutdown", app=app)
            await sealer.stop()
            db.dispose()

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(TrustedProxyMiddleware, trusted=settings.proxy_networks),
            Middleware(SecurityHeadersMiddleware, https=settings.https),
            Middleware(ops.ObservabilityMiddleware),
            Middleware(RefusalAuditMiddleware),
            Middleware(ContextMiddleware),
            # Before CSRF, which reads form bodies: every body is bounded while it streams in.
            Middleware(BodyLimitMiddleware, max_body=settings.max_body_bytes, max_upload=settings.max_upload_bytes,
                       refuse=errors.error_response, routes=routes),
            Middleware(CSRFMiddleware, secret=derive_key(settings.secret_key, "csrf"), origin=settings.base_url,
                       cookie=cookie_name(settings.https), exempt=csrf_exempt,
                       cross_site=oidc.CSRF_CROSS_SITE, refuse=errors.error_response),
        ],
        exception_handlers={HTTPException: errors.http_exception},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.plugins = plugins
    app.state.csrf_key = derive_key(settings.secret_key, "csrf")
    app.state.anonymous_key = derive_key(settings.secret_key, "anonymous-browser")
    app.state.csrf_exempt = csrf_exempt
    app.state.audit_key = audit_key(settings)
    app.state.sessions = SessionStore(db, Timeouts(idle=timedelta(minutes=settings.session_idle_minutes),
                                                   absolute=timedelta(hours=settings.session_absolute_hours)),
                                        plugins)
    app.state.templates = make_environment(
        {result.plugin: str(result.value) for result in plugins.call("bouquet_templates")})
    app.state.templates.globals["patient_display"] = patient_display  # the banner, shown on every page
    app.state.permissions = Permissions(
        [action for action in plugins.flat(plugins.call("bouquet_actions")) if isinstance(action, Action)])
    # The OAuth scopes the provider knows: the core's and those plugins declare (`bouquet_scopes`).
    app.state.scopes = oidc_scopes.collect(plugins)
    # What the provider asks the patient layer (SMART launch, token exchange).
    app.state.patients = smart.SmartPatients()
    app.state.router_routes = app.router.routes
    return app


def _plugin_routes(plugins: Plugins) -> list[BaseRoute]:
    return [Mount(f"/p/{result.plugin}", routes=list(result.value)) for result in plugins.call("bouquet_routes")]


def _static_mounts(plugins: Plugins) -> list[BaseRoute]:
    mounts: list[BaseRoute] = [
        Mount(f"/static/{result.plugin}", app=sessionless(StaticFiles(directory=str(result.value))), name=f"static-{result.plugin}")
        for result in plugins.call("bouquet_static")
    ]
    mounts.append(Mount("/static", app=sessionless(StaticFiles(directory=str(shell_dir("static")))), name="static"))
    return mounts
