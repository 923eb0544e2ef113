"""Ségur referencing as structure: the couloir, the software type, the wave, the specification (DSR)
version, the software version referenced, the referencing date and its expiry.

A vendor claiming the Ségur referencing (`claims.segur`) gives these fields instead of free text;
`check(values)` returns the stored structure or the French error of each field. A revision whose
software version changes major number is not covered by the referencing of the previous one:
`major_changed` tells the review page so (and such a change, like every change of a referenced
solution, waits for the operator's review before it shows).

Sources (cited in the plugin's README): the ANS page on the Ségur referencing procedure of wave 2
(https://industriels.esante.gouv.fr/en/node/5915, read: dossier administratif, dossier de preuves
and its instruction on the Convergence platform, then the referencing itself; the DSR of the chosen
« dispositif » lists what is asked) and the ANS industriels FAQ (DSR-IMG-DB-Va2; INSi for LGC;
SGL and PFI; ApCV and the CNDA approval). The list of couloirs and software types below follows the
Ségur dispositifs as the ANS names them; it was not checked against one official table, which could
not be found from here.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

#: Couloirs of the Ségur du numérique en santé (code → label).
COULOIRS: dict[str, str] = {
    "medecin-ville": "Médecin de ville",
    "hopital": "Hôpital (établissements de santé)",
    "biologie": "Biologie médicale",
    "imagerie": "Imagerie médicale",
    "officine": "Pharmacie d'officine",
    "medico-social": "Médico-social",
    "dentiste": "Chirurgiens-dentistes",
    "sage-femme": "Sages-femmes",
    "paramedical": "Professions paramédicales",
}
#: Software types (code → (label, couloir)).
SOFTWARE_TYPES: dict[str, tuple[str, str]] = {
    "LGC": ("Logiciel de gestion de cabinet (LGC)", "medecin-ville"),
    "DPI": ("Dossier patient informatisé (DPI)", "hopital"),
    "PFI": ("Plateforme d'intermédiation (PFI)", "hopital"),
    "SGL": ("Système de gestion de laboratoire (SGL)", "biologie"),
    "RIS": ("Système d'information de radiologie (RIS)", "imagerie"),
    "DRIMBOX": ("DRIMbox (partage des images)", "imagerie"),
    "LGO": ("Logiciel de gestion d'officine (LGO)", "officine"),
    "DUI": ("Dossier usager informatisé (DUI)", "medico-social"),
    "LGC-DENTISTE": ("LGC des chirurgiens-dentistes", "dentiste"),
    "LGC-SAGE-FEMME": ("LGC des sages-femmes", "sage-femme"),
    "LGC-PARAMEDICAL": ("LGC des professions paramédicales", "paramedical"),
}
#: Referencing waves (enumerated: a new wave is a new code here, never free text).
WAVES: dict[str, str] = {"vague-1": "Vague 1", "vague-2": "Vague 2"}
FIELDS = ("couloir", "software_type", "wave", "dsr_version", "software_version", "referenced_on", "expires_on")
_VERSION = re.compile(r"^\d+(\.\d+)*([-.\w ]*)$")
MAX_TEXT = 60


def check(raw: Any) -> tuple[dict[str, str] | None, dict[str, str]]:
    """(the stored structure, errors by form field `segur_<name>`) from the submitted fields."""
    values = raw if isinstance(raw, dict) else {}
    text = {name: str(values.get(name) or "").strip() for name in FIELDS}
    errors: dict[str, str] = {}
    if text["couloir"] not in COULOIRS:
        errors["segur_couloir"] = "Référencement Ségur : choisissez le couloir."
    if text["software_type"] not in SOFTWARE_TYPES:
        errors["segur_software_type"] = "Référencement Ségur : choisissez le type de logiciel."
    elif text["couloir"] in COULOIRS and SOFTWARE_TYPES[text["software_type"]][1] != text["couloir"]:
        errors["segur_software_type"] = (f"Référencement Ségur : un {SOFTWARE_TYPES[text['software_type']][0]} ne relève pas "
                                         f"du couloir « {COULOIRS[text['couloir']]} ».")
    if text["wave"] not in WAVES:
        errors["segur_wave"] = "Référencement Ségur : choisissez la vague."
    if not text["dsr_version"] or len(text["dsr_version"]) > MAX_TEXT:
        errors["segur_dsr_version"] = ("Référencement Ségur : indiquez la version du dossier de spécifications de "
                                       "référencement (DSR) suivie, par exemple « DSR LGC Vague 2 v1.1 ».")
    if not _VERSION.fullmatch(text["software_version"]) or len(text["software_version"]) > MAX_TEXT:
        errors["segur_software_version"] = ("Référencement Ségur : indiquez la version du logiciel référencée, "
                                            "qui commence par un numéro (par exemple « 12.4 »).")
    referenced_on, expires_on = _day(text["referenced_on"]), _day(text["expires_on"])
    if referenced_on is None:
        errors["segur_referenced_on"] = "Référencement Ségur : indiquez la date de référencement."
    elif referenced_on > date.today():
        errors["segur_referenced_on"] = "Référencement Ségur : la date de référencement ne peut pas être dans le futur."
    if text["expires_on"] and expires_on is None:
        errors["segur_expires_on"] = "Référencement Ségur : la date d'échéance n'est pas une date valide."
    elif expires_on is not None and referenced_on is not None and expires_on <= referenced_on:
        errors["segur_expires_on"] = "Référencement Ségur : l'échéance doit suivre la date de référencement."
    if errors:
        return None, errors
    return {**text, "expires_on": text["expires_on"] or ""}, {}


def major(version: str | None) -> str | None:
    """The major number of a version ("12" for "12.4.1"), or None."""
    found = re.match(r"^\s*v?(\d+)", version or "", re.I)
    return found.group(1) if found else None


def major_changed(referenced: dict[str, Any] | None, proposed: dict[str, Any] | None) -> bool:
    """Whether a proposed revision's Ségur software version leaves the major version that was referenced."""
    before = (referenced or {}).get("segur") or {}
    after = (proposed or {}).get("segur") or {}
    if not before or not after:
        return False
    return major(before.get("software_version")) != major(after.get("software_version"))


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
