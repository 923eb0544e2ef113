"""Anonymous browsers: no server state, only a short-lived signed cookie.

A visitor who is not signing in gets no session row (issue 13, item 8): the pages they see only
need a CSRF token for their forms (the sign-in page) and, when they ask for a page that needs a
sign-in, a way to tie the pending authorization (`bouquet.sso.portal_pending`, a bounded,
expiring row) to their browser. Both come from one cookie, under the session cookie's own name so
that a browser has one or the other, never both:

    anon.<issued at, unix seconds>.<binding>.<HMAC-SHA256 of the rest>

- the CSRF token of its forms is derived from the whole value exactly as a session's is from its
  token (`csrf.token_for(key, sha256(value))`): a signed double-submit token, the cookie being
  HttpOnly, SameSite=Lax and `__Host-` on https, so another site can neither read nor plant it;
- `binding` is what the browser's pending authorizations are bound to; a cookie issued to replace
  a stale or unreadable one keeps the binding derived from the value the browser presented, so
  tabs reloaded together with the same old cookie still agree on it (as sessions did before);
- it is valid for `LIFETIME` after it was issued and renewed (same binding) once half of it has
  passed, on the next page the visitor is shown.

When the visitor gives a password (the first factor), `bouquet.web.context.ensure_session` creates
the session row, which inherits the binding and, until the sign-in completes, accepts the CSRF
token of the anonymous cookie it replaced (`CSRF_KEY`); signing in then rotates it as before, and
the new session keeps neither.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

PREFIX = "anon."
#: How long an anonymous cookie (and the CSRF token of the forms shown with it) stays valid.
LIFETIME_SECONDS = 2 * 3600
#: Renewed on the next page once it is older than this.
RENEW_AFTER_SECONDS = LIFETIME_SECONDS // 2
#: In the session's data: the binding of this browser's pending portal authorizations.
BINDING_KEY = "portal_authorizations"
#: In the data of a session begun from an anonymous cookie: that cookie's `token_hash`, so that the
#: forms and scripts of the page shown before (the sign-in page, whose passkey button first asks for
#: a challenge, which creates the session) keep their CSRF token until the sign-in completes.
CSRF_KEY = "anonymous_csrf"
_MAX_LENGTH = 200


@dataclass(frozen=True)
class AnonymousBrowser:
    """A visitor with no session: their cookie's value, when it was issued, their binding."""

    value: str
    issued_at: int
    binding: str
    new: bool = False  # to be sent with this response

    @property
    def token_hash(self) -> str:
        """What the CSRF token is derived from (as `WebSession.token_hash` for a session)."""
        return hashlib.sha256(self.value.encode()).hexdigest()

    def due_for_renewal(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) - self.issued_at >= RENEW_AFTER_SECONDS


def binding_for(cookie: str) -> str:
    """The binding of a browser that presents (or was just given) this cookie value."""
    return hashlib.sha256(f"bouquet:portal-pending:{cookie}".encode()).hexdigest()


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, f"anonymous:{body}".encode(), hashlib.sha256).hexdigest()[:43]


def issue(key: bytes, *, binding: str | None = None, now: float | None = None) -> AnonymousBrowser:
    """A new anonymous cookie; its binding is `binding`, or derived from a fresh random value."""
    issued = int(now if now is not None else time.time())
    binding = binding or binding_for(secrets.token_urlsafe(32))
    body = f"{PREFIX}{issued}.{binding}"
    return AnonymousBrowser(f"{body}.{_mac(key, body)}", issued, binding, new=True)


def read(key: bytes, value: str | None, now: float | None = None) -> AnonymousBrowser | None:
    """The anonymous browser this cookie value describes, or None (not one, forged, or expired)."""
    if not value or not value.startswith(PREFIX) or len(value) > _MAX_LENGTH:
        return None
    body, _, mac = value.rpartition(".")
    parts = body[len(PREFIX):].split(".")
    if len(parts) != 2 or not parts[0].isdigit() or len(parts[1]) != 64:
        return None
    if not hmac.compare_digest(mac, _mac(key, body)):
        return None
    issued = int(parts[0])
    current = now if now is not None else time.time()
    if not (current - LIFETIME_SECONDS < issued <= current + 60):
        return None
    return AnonymousBrowser(value, issued, parts[1])


def renew(key: bytes, presented: str | None, current: AnonymousBrowser | None) -> AnonymousBrowser:
    """The cookie an anonymous page sends: the current one while fresh; else a new one keeping the
    binding (of the current cookie, or derived from whatever stale value the browser presented)."""
    if current is not None and not current.due_for_renewal():
        return current
    if current is not None:
        return issue(key, binding=current.binding)
    return issue(key, binding=binding_for(presented) if presented else None)
