"""What a document's bytes may be: PDF, plain text, or CDA R2 XML, recognised by their first bytes
rather than by what the sender claims."""

from __future__ import annotations

PDF, TEXT, CDA = "application/pdf", "text/plain", "text/xml"
#: Types a professional may upload from the portal.
UPLOADABLE = (PDF, TEXT)
#: Types the DMP stores.
STORED = (PDF, TEXT, CDA)


class ContentError(ValueError):
    """The bytes are not what they claim to be; the message is French and names the file."""


def sniff(data: bytes) -> str | None:
    """The content type the bytes really have (PDF, CDA or text), or None."""
    if data.startswith(b"%PDF-"):
        return PDF
    head = data[:512].lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<?xml") or head.startswith(b"<ClinicalDocument"):
        return CDA if b"ClinicalDocument" in data[:4096] else None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text):
        return None
    return TEXT


def check(data: bytes, claimed: str, allowed: tuple[str, ...], max_bytes: int) -> str:
    """The content type of `data` once checked against the claim, the allowed types and the size."""
    if not data:
        raise ContentError("Le fichier est vide.")
    if len(data) > max_bytes:
        raise ContentError(f"Le fichier dépasse la taille maximale ({max_bytes // 1000} ko).")
    real = sniff(data)
    base = claimed.split(";")[0].strip().lower()
    if base in ("application/xml",):
        base = CDA
    if real is None or real not in allowed:
        raise ContentError("Le fichier doit être un PDF ou un texte (UTF-8).")
    if base and base != real and not (real == TEXT and base.startswith("text/")):
        raise ContentError("Le contenu du fichier ne correspond pas à son type déclaré.")
    return real
