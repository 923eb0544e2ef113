"""Logos and screenshots: accepted only when they decode as PNG, JPEG or WebP within size and dimension limits."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image as PilImage
from PIL import UnidentifiedImageError

MAX_BYTES = 1024 * 1024
MAX_SCREENSHOTS = 5
# (min side, max width, max height) per role
DIMENSIONS = {"logo": (16, 1024, 1024), "screenshot": (64, 3840, 2160)}
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


@dataclass(frozen=True)
class CheckedImage:
    role: str
    content_type: str
    width: int
    height: int
    data: bytes


def check(role: str, data: bytes, label: str) -> CheckedImage | str:
    """The image if it is acceptable, else the French reason (naming the field by its `label`)."""
    if not data:
        return f"{label} : le fichier est vide."
    if len(data) > MAX_BYTES:
        return f"{label} : le fichier pèse {len(data) / 1024 / 1024:.1f} Mo, le maximum est 1 Mo."
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PilImage.DecompressionBombWarning)
            with PilImage.open(io.BytesIO(data)) as opened:
                kind, (width, height) = opened.format, opened.size
                minimum, max_width, max_height = DIMENSIONS[role]
                if kind not in FORMATS:
                    return f"{label} : seuls les formats PNG, JPEG et WebP sont acceptés."
                if width > max_width or height > max_height:
                    return f"{label} : l'image mesure {width}×{height} pixels, le maximum est {max_width}×{max_height}."
                if min(width, height) < minimum:
                    return f"{label} : l'image est trop petite ({width}×{height} pixels, au moins {minimum} de côté)."
                opened.load()  # decode every pixel: a truncated or forged file fails here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, PilImage.DecompressionBombError,
            PilImage.DecompressionBombWarning):
        return f"{label} : ce fichier n'est pas une image lisible (PNG, JPEG ou WebP attendu)."
    return CheckedImage(role, FORMATS[kind], width, height, data)
