"""Times on screen: Europe/Paris, one format, through one function used by every template."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime
from pathlib import Path

from bouquet.foundation.times import format_date, format_datetime

ROOT = Path(__file__).parent.parent


def test_instants_are_shown_in_paris_time_summer_and_winter():
    assert format_datetime(datetime(2026, 7, 1, 12, 5, tzinfo=UTC)) == "01/07/2026 à 14:05"
    assert format_datetime(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == "01/01/2027 à 00:30"
    # The database gives back UTC; a naive value is UTC, never the server's own zone.
    assert format_datetime(datetime(2026, 1, 15, 8, 0)) == "15/01/2026 à 09:00"
    assert format_datetime(None) == "—"


def test_days_of_instants_are_paris_days_and_calendar_dates_stay_as_they_are():
    assert format_date(datetime(2026, 3, 14, 23, 30, tzinfo=UTC)) == "15/03/2026"
    assert format_date(date(2026, 3, 14)) == "14/03/2026"
    assert format_date("2026-03-14") == "14/03/2026"
    assert format_date(None) == "—"


def test_no_template_formats_a_time_itself_or_shows_utc():
    templates = [*ROOT.glob("templates/**/*.html"), *ROOT.glob("plugins/*/*/templates/**/*.html"),
                 *ROOT.glob("plugins/*/*/*/templates/**/*.html")]
    assert len(templates) > 50
    offenders = [f"{path.relative_to(ROOT)}: {match.group()}" for path in templates
                 for match in re.finditer(r"strftime\(|fmt\.moment\(|\bUTC\b|isoformat\(\)\s*}}", path.read_text())]
    assert offenders == [], "use the |datetime and |date filters (bouquet.foundation.times)"


def test_the_filters_render_in_any_template(app):
    template = app.state.templates.from_string("{{ at|datetime }} / {{ at|date }}")
    assert asyncio.run(template.render_async(at=datetime(2026, 7, 1, 22, 5, tzinfo=UTC))) == "02/07/2026 à 00:05 / 02/07/2026"
