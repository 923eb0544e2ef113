"""Today's date for the plugin, in metropolitan France; tests pin it by replacing `clock.today`."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

__all__ = ["today"]

_PARIS = ZoneInfo("Europe/Paris")


def today() -> date:
    """The current day in Europe/Paris: what "in the future" and the evaluation date are measured against."""
    return datetime.now(_PARIS).date()
