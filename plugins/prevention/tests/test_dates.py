"""Calendar arithmetic: anniversaries that do not exist roll to the 1st of the next month, as the core's age does."""

from __future__ import annotations

from datetime import date

import pytest
from bouquet_prevention.dates import add_months, add_years, month_day

from bouquet.api.patient import PatientTraits


@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2000, 1, 15), 1, date(2000, 2, 15)),
    (date(2000, 1, 31), 1, date(2000, 3, 1)),      # 31 February does not exist
    (date(2001, 1, 31), 1, date(2001, 3, 1)),
    (date(2000, 2, 29), 12, date(2001, 3, 1)),     # born 29 February: birthday counted on 1 March
    (date(2000, 2, 29), 48, date(2004, 2, 29)),
    (date(2000, 12, 31), 2, date(2001, 3, 1)),      # 31 February again → 1 March
    (date(2000, 3, 31), -1, date(2000, 3, 1)),     # going back: 31 February rolls forward as well
    (date(2000, 11, 30), 2, date(2001, 1, 30)),
    (date(2000, 12, 15), -12, date(1999, 12, 15)),
])
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_add_years_agrees_with_the_core_age_on_29_february() -> None:
    from bouquet.api.patient import OID_NIR_TEST, Ins, PatientContext, with_key

    born = date(2008, 2, 29)
    patient = PatientContext(Ins(with_key("2080275056001"), OID_NIR_TEST),
                             PatientTraits("TEST", ("ANNE",), born, "F"))  # type: ignore[arg-type]
    eighteen = add_years(born, 18)
    assert eighteen == date(2026, 3, 1)
    assert patient.age(date(2026, 2, 28)) == 17 and patient.age(eighteen) == 18


@pytest.mark.parametrize("text", ["10-15", "01-31", "12-31"])
def test_month_day_accepts_days_of_every_year(text: str) -> None:
    assert month_day(text) == (int(text[:2]), int(text[3:]))


@pytest.mark.parametrize("text", ["02-29", "13-01", "1-15", "10-32", "oct-15", ""])
def test_month_day_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError):
        month_day(text)
