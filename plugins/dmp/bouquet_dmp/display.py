"""How DMP values read on screen, in French."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bouquet_dmp.doctypes import classes, types

PARIS = ZoneInfo("Europe/Paris")
FORMATS = {"application/pdf": "PDF", "text/plain": "Texte", "text/xml": "CDA (XML)"}
TRANSACTIONS = {"search": "Consultation de la liste", "read": "Consultation d'un document", "retrieve": "Ouverture d'un document",
                "provide": "Ajout d'un document", "emergency": "Accès en urgence (bris de glace)",
                "regulation": "Accès en régulation (SAMU – centre 15)", "patient": "Vérification du DMP",
                "history": "Consultation de l'historique"}


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """« 1 heure », « 4 heures », « 0 heure » (French: 0 and 1 take the singular)."""
    return f"{count} {singular if abs(count) < 2 else (plural_form or singular + 's')}"


def duration(minutes: int) -> str:
    """A duration in words: « 4 heures », « 1 heure », « 1 heure 30 minutes », « 45 minutes »."""
    hours, rest = divmod(max(int(minutes), 0), 60)
    parts = ([plural(hours, "heure")] if hours else []) + ([plural(rest, "minute")] if rest or not hours else [])
    return " ".join(parts)


def day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def moment(value: datetime | None) -> str:
    return value.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M") if value else "—"


def until(instant: str) -> str:
    """An ISO instant from the DMP (« 2026-12-07T10:00:00Z ») as a Paris date."""
    try:
        return datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(PARIS).strftime("%d/%m/%Y")
    except ValueError:
        return instant


def size(value: int | None) -> str:
    if value is None:
        return "—"
    return f"{value} o" if value < 1000 else f"{value / 1000:.0f} ko".replace(".", ",")


def kind(content_type: str) -> str:
    return FORMATS.get(content_type, content_type)


def transaction(code: str) -> str:
    return TRANSACTIONS.get(code, code)


def class_options() -> list[tuple[str, str]]:
    return list(classes().items())


def type_options() -> list[tuple[str, str]]:
    return [(code, t.label) for code, t in types().items()]
