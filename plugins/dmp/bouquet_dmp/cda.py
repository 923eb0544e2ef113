"""CDA R2 documents: rendered as readable sections for the viewer, and read for their vaccinations.

Parsed with `defusedxml` (no DTD, no entity expansion, no external resource): a document that
tries any of these, or is not well-formed, is refused with `CdaError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from bouquet_dmp.codes import CVX_OID

NS = "{urn:hl7-org:v3}"


class CdaError(ValueError):
    """The bytes are not a CDA document this viewer can read safely."""


@dataclass
class Block:
    kind: str                      # "p", "list" or "table"
    text: str = ""
    items: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Section:
    title: str
    blocks: list[Block]


@dataclass
class CdaView:
    title: str
    effective: str | None
    author: str | None
    sections: list[Section]


def _parse(data: bytes) -> Element:
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise CdaError(f"Document CDA illisible : {exc.__class__.__name__}") from None
    if root.tag != f"{NS}ClinicalDocument":
        raise CdaError("Ce document XML n'est pas un document CDA (ClinicalDocument).")
    return root


def _text(element: Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _day(value: str | None) -> str | None:
    if not value or len(value) < 8 or not value[:8].isdigit():
        return None
    return f"{value[6:8]}/{value[4:6]}/{value[0:4]}"


def render(data: bytes) -> CdaView:
    """The document's title, date, author and sections (narrative text only, as CDA intends)."""
    root = _parse(data)
    author = root.find(f"{NS}author/{NS}assignedAuthor/{NS}assignedPerson/{NS}name")
    sections = []
    for section in root.iter(f"{NS}section"):
        text = section.find(f"{NS}text")
        sections.append(Section(_text(section.find(f"{NS}title")) or "Section", _blocks(text)))
    effective = root.find(f"{NS}effectiveTime")
    return CdaView(_text(root.find(f"{NS}title")) or "Document CDA",
                   _day(effective.get("value")) if effective is not None else None,
                   _text(author) or None, sections)


def _blocks(text: Element | None) -> list[Block]:
    if text is None:
        return []
    blocks: list[Block] = []
    if text.text and text.text.strip():
        blocks.append(Block("p", " ".join(text.text.split())))
    for child in text:
        tag = child.tag.removeprefix(NS)
        if tag == "table":
            header = [_text(th) for th in child.iter(f"{NS}th")]
            rows = [[_text(td) for td in tr.findall(f"{NS}td")] for tr in child.iter(f"{NS}tr")]
            blocks.append(Block("table", header=header, rows=[row for row in rows if row]))
        elif tag == "list":
            blocks.append(Block("list", items=[_text(item) for item in child.findall(f"{NS}item")]))
        else:
            blocks.append(Block("p", _text(child)))
        if child.tail and child.tail.strip():
            blocks.append(Block("p", " ".join(child.tail.split())))
    return blocks


def vaccinations(data: bytes) -> list[tuple[str, date]]:
    """The (CVX code, date) of every vaccine administration the document records."""
    root = _parse(data)
    found: list[tuple[str, date]] = []
    for administration in root.iter(f"{NS}substanceAdministration"):
        code = administration.find(f"{NS}consumable/{NS}manufacturedProduct/{NS}manufacturedMaterial/{NS}code")
        when = administration.find(f"{NS}effectiveTime")
        value: Any = when.get("value") if when is not None else None
        if code is None or code.get("codeSystem") != CVX_OID or not value or len(value) < 8:
            continue
        try:
            found.append((code.get("code", ""), date(int(value[:4]), int(value[4:6]), int(value[6:8]))))
        except ValueError:
            continue
    return found
