"""What the médecin traitant is told on their home page: each emergency access to a patient's DMP of the
last `NOTICE_DAYS` days, as the notification outbox holds it (sending by MSSanté plugs into the same outbox)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bouquet import Alert
from bouquet.api.db import utcnow
from bouquet_dmp import access

if TYPE_CHECKING:
    from bouquet.api.web import RequestContext

NOTICE_DAYS = 30


async def emergency_notices(ctx: RequestContext) -> list[Alert]:
    account = ctx.account
    if account is None or str(account.kind) != "professional" or not account.idnat_ps:
        return []
    since = utcnow() - timedelta(days=NOTICE_DAYS)
    found = await ctx.db.run(access.notifications_for, ctx.db, account.idnat_ps, since)
    return [Alert(notification.subject, severity="warning", description=notification.body, order=100)
            for notification in found]
