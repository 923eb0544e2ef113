"""The notification outbox, for the channel that sends it (MSSanté, once built): after an emergency access the
patient and the médecin traitant must be informed (CSP L. 1111-17 I); `access.grant_emergency` writes the
messages here as `pending`, the access history and the médecin traitant's home page show them, and a sender:

    for message in outbox.take(db):              # claimed for this sender only: `sending`
        try:
            mssante.send(message.recipient_idnat, message.subject, message.body)
        except MssanteError:
            outbox.give_back(db, message.id)     # `pending` again, for the next round
        else:
            outbox.mark_sent(db, message.id)     # `sent`, with when

Several workers may run a sender: each message is claimed by one of them (a conditional update).
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col, select

from bouquet.api.db import Database, utcnow
from bouquet_dmp.models import DmpNotification

PENDING, SENDING, SENT = "pending", "sending", "sent"


def _move(db: Database, notification_id: int, from_status: str, to_status: str) -> bool:
    with db.write() as session:
        values: dict[str, object] = {"status": to_status}
        if to_status == SENT:
            values["sent_at"] = utcnow()
        moved = session.execute(update(DmpNotification).where(col(DmpNotification.id) == notification_id,
                                                              col(DmpNotification.status) == from_status).values(**values))
        return bool(moved.rowcount)  # type: ignore[attr-defined]


def take(db: Database, limit: int = 50) -> list[DmpNotification]:
    """Claim up to `limit` pending messages, oldest first (those another sender claimed meanwhile are skipped)."""
    with db.session() as session:
        waiting = list(session.exec(select(DmpNotification).where(DmpNotification.status == PENDING)
                                    .order_by(col(DmpNotification.created_at), col(DmpNotification.id)).limit(limit)).all())
    claimed = [message for message in waiting if message.id is not None and _move(db, message.id, PENDING, SENDING)]
    for message in claimed:
        message.status = SENDING
    return claimed


def mark_sent(db: Database, notification_id: int) -> bool:
    """The claimed message was sent: `sent`, with the time. False if it was not claimed."""
    return _move(db, notification_id, SENDING, SENT)


def give_back(db: Database, notification_id: int) -> bool:
    """The claimed message could not be sent: `pending` again. False if it was not claimed."""
    return _move(db, notification_id, SENDING, PENDING)
