"""Calendar durations of pathway steps."""

from __future__ import annotations

from datetime import date

import pytest
from bouquet_eparcours.durations import Duration, DurationError


def test_months_and_years_are_calendar_ones():
    assert Duration.parse("P1M").after(date(2026, 1, 31)) == date(2026, 2, 28)
    assert Duration.parse("P1Y").after(date(2024, 2, 29)) == date(2025, 2, 28)
    assert Duration.parse("P1Y6M2W3D").after(date(2026, 1, 1)) == date(2027, 7, 18)
    assert Duration.parse("P3M").after(date(2026, 11, 30)) == date(2027, 2, 28)


def test_labels_and_round_trip():
    assert Duration.parse("p3m").label == "3 mois" and Duration.parse("P1Y6M").label == "1 an et 6 mois"
    assert Duration.parse("P2W").label == "2 semaines" and Duration.parse("P0D").label == "immédiatement"
    assert str(Duration.parse("P1Y6M")) == "P1Y6M" and str(Duration.parse("P0D")) == "P0D"
    assert Duration.parse("P0D").is_zero and not Duration.parse("P1D").is_zero


@pytest.mark.parametrize("wrong", ["3 mois", "P", "PT3H", "P-1M", "P1.5M", 3, None])
def test_anything_else_is_refused_in_french(wrong):
    with pytest.raises(DurationError, match="durée ISO 8601 attendue"):
        Duration.parse(wrong)
