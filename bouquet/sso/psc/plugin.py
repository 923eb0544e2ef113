"""Pro Santé Connect's built-in plugin: a Bouquet session that ends for any reason (sign-out,
timeout, an administrator, a back-channel logout) forgets its PSC tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bouquet import hookimpl
from bouquet.sso.psc import tokens

if TYPE_CHECKING:
    from bouquet.foundation.db import Database


@hookimpl
def bouquet_session_ended(db: Database, account_id: int, sid: str, reason: str) -> None:
    with db.write() as session:
        tokens.forget(session, sid)
