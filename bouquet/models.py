"""Where the tables come from: the core's modules and every loaded plugin's `bouquet_models`."""

from __future__ import annotations


def import_models(plugins: object | None = None) -> None:
    """Import every table class so that SQLModel.metadata knows the whole schema."""
    from bouquet import audit, launch, patient_context, sessions, smart  # noqa: F401
    from bouquet.sso import accounts  # noqa: F401
    from bouquet.sso import recovery, throttle, totp  # noqa: F401
    from bouquet.sso import delegation, invitations  # noqa: F401
    from bouquet.sso import webauthn  # noqa: F401
    from bouquet.sso import portal_pending  # noqa: F401
    from bouquet.sso.oidc import models as oidc_models  # noqa: F401

    if plugins is not None:
        plugins.call("bouquet_models")  # type: ignore[attr-defined]
