"""What completing a step records: form input checked against the step's `records`, shown back in French.

Values are kept as JSON in `Task.outputs`: a quantity as a number, a date as "YYYY-MM-DD", yes/no
as a boolean, a choice as its code, a note as text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from bouquet_eparcours.definitions import RecordField

#: Form fields holding recorded values are named with this prefix and the record's id.
PREFIX = "value_"
MAX_TEXT = 2000


def parse(fields: Sequence[RecordField], form: Mapping[str, str], *, today: date) -> tuple[dict[str, Any], dict[str, str]]:
    """The recorded values and, per record id, a French error; nothing is kept unless errors is empty."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields:
        raw = form.get(PREFIX + field.id, "").strip()
        if not raw:
            if field.required:
                errors[field.id] = f"Renseignez « {field.label} »."
            continue
        try:
            values[field.id] = _value(field, raw, today)
        except ValueError as err:
            errors[field.id] = str(err)
    return values, errors


def _value(field: RecordField, raw: str, today: date) -> Any:
    if field.kind == "quantity":
        try:
            number = float(raw.replace(",", ".").replace("\u202f", "").replace(" ", ""))
        except ValueError:
            raise ValueError(f"« {field.label} » doit être un nombre (ex. 7,2).") from None
        unit = f" {field.unit}" if field.unit else ""
        if field.min is not None and number < field.min:
            raise ValueError(f"« {field.label} » doit être au moins {_number(field.min)}{unit}.")
        if field.max is not None and number > field.max:
            raise ValueError(f"« {field.label} » doit être au plus {_number(field.max)}{unit}.")
        return number
    if field.kind == "date":
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"« {field.label} » doit être une date (JJ/MM/AAAA).") from None
        if value > today:
            raise ValueError(f"« {field.label} » ne peut pas être dans le futur.")
        return value.isoformat()
    if field.kind == "boolean":
        if raw not in ("oui", "non"):
            raise ValueError(f"Répondez oui ou non à « {field.label} ».")
        return raw == "oui"
    if field.kind == "choice":
        if raw not in {option.code for option in field.options}:
            raise ValueError(f"Choisissez une des réponses proposées pour « {field.label} ».")
        return raw
    if len(raw) > MAX_TEXT:
        raise ValueError(f"« {field.label} » dépasse {MAX_TEXT} caractères.")
    return raw


def shown(field: RecordField, value: Any) -> str:
    """A recorded value as a person reads it: "7,2 %", "15/03/2026", "Oui", the choice's label."""
    if value is None:
        return "—"
    if field.kind == "quantity":
        return _number(float(value)) + (f" {field.unit}" if field.unit else "")
    if field.kind == "date":
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    if field.kind == "boolean":
        return "Oui" if value else "Non"
    if field.kind == "choice":
        return next((option.label for option in field.options if option.code == value), str(value))
    return str(value)


def _number(value: float) -> str:
    # French decimal comma; no trailing ",0".
    return f"{value:g}".replace(".", ",")
