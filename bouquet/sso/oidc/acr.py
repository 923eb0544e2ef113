"""Authentication context classes (`acr`): the levels a relying party can ask for with `acr_values`.

| value | what the sign-in must have used |
| --- | --- |
| `eidas1` | two factors of different kinds (password + authenticator app or recovery code, or a passkey with user verification) — every complete Bouquet sign-in. Pro Santé Connect's name, so PSC software asking for it gets it. |
| `http://schemas.openid.net/pape/policies/2007/06/phishing-resistant` | the same, and one factor is phishing-resistant: a WebAuthn security key or passkey (`amr` has `hwk` or `swk`). |

An ID token carries the first requested value the sign-in satisfies, or `eidas1` when none was
requested. A request whose every known value is unsatisfied sends the person to confirm their
identity again (where they can use their security key); if it still is not met, the client gets
the error `unmet_authentication_requirements`. Unknown values are ignored (acr_values is a wish).
"""

from __future__ import annotations

from collections.abc import Iterable

TWO_FACTORS = "eidas1"
PHISHING_RESISTANT = "http://schemas.openid.net/pape/policies/2007/06/phishing-resistant"
SUPPORTED = (TWO_FACTORS, PHISHING_RESISTANT)

_WEBAUTHN = {"hwk", "swk"}


def satisfies(acr: str, amr: Iterable[str]) -> bool:
    """Whether a sign-in that used `amr` (RFC 8176 values, with `mfa`) meets level `acr`."""
    methods = set(amr)
    if acr == TWO_FACTORS:
        return "mfa" in methods
    if acr == PHISHING_RESISTANT:
        return "mfa" in methods and bool(methods & _WEBAUTHN)
    return False


def requested(acr_values: str | None) -> list[str]:
    """The known levels asked for, in the client's order of preference."""
    return [value for value in dict.fromkeys((acr_values or "").split()) if value in SUPPORTED]


def choose(acr_values: str | None, amr: Iterable[str]) -> str | None:
    """The `acr` to put in the ID token, or None when the client asked for levels this sign-in lacks."""
    wanted = requested(acr_values)
    methods = list(amr)
    if not wanted:
        return TWO_FACTORS if satisfies(TWO_FACTORS, methods) else None
    return next((value for value in wanted if satisfies(value, methods)), None)
