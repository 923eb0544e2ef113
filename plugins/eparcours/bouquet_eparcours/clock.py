"""Today, as the care team counts days: in metropolitan French time.

Every due date and every "overdue" decision asks `today()` here, so that one place says which
day it is (and tests can pin it with monkeypatch).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

#: Due dates are calendar days in this zone (a task due today is not overdue at 23:30 in Paris).
ZONE = ZoneInfo("Europe/Paris")


def today() -> date:
    """The current date in Europe/Paris."""
    return datetime.now(ZONE).date()
