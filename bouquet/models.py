"""Where the tables come from: the core's modules and every loaded plugin's `bouquet_models`."""

from __future__ import annotations

# Imported for their tables: SQLModel.metadata learns each table when its module is imported.
from bouquet.foundation import audit, generations  # noqa: F401
from bouquet.patient import context, launch, smart  # noqa: F401
from bouquet.sso import (  # noqa: F401
    accounts,
    delegation,
    invitations,
    portal_pending,
    recovery,
    throttle,
    totp,
    webauthn,
)
from bouquet.sso.oidc import models as oidc_models  # noqa: F401
from bouquet.sso.psc import models as psc_models  # noqa: F401
from bouquet.web import refusals, sessions  # noqa: F401


def import_models(plugins: object | None = None) -> None:
    """Make SQLModel.metadata know the whole schema: the core's tables (imported with this module)
    and those of every loaded plugin."""
    if plugins is not None:
        plugins.call("bouquet_models")  # type: ignore[attr-defined]
