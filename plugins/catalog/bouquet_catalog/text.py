"""Text as the catalogue searches and shows it: accent-free lower-case keys, and paragraphs of plain text."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[a-z0-9]+")


def fold(value: str) -> str:
    """Lower case, accents and ligatures removed, punctuation as spaces: « Télé-Santé Œil » → "tele sante oeil"."""
    decomposed = unicodedata.normalize("NFKD", value.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae"))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char)).lower()
    return " ".join(_WORD.findall(bare))


def terms(query: str, limit: int = 8) -> list[str]:
    """The distinct search terms of a query, folded (at most `limit`)."""
    return list(dict.fromkeys(fold(query).split()))[:limit]


def paragraphs(description: str) -> list[str]:
    """A plain-text description as paragraphs (blank lines separate them); the template escapes each."""
    return [" ".join(block.split()) for block in re.split(r"\n\s*\n", description.replace("\r\n", "\n")) if block.strip()]
