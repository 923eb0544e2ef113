"""The catalogue's closed lists: categories, conformity claims, professions and regions, with their French labels."""

from __future__ import annotations

from bouquet.api.accounts import PROFESSIONS as CORE_PROFESSIONS

CATEGORIES: dict[str, str] = {
    "LGC": "Logiciel de gestion de cabinet (LGC)",
    "DPI": "Dossier patient informatisé (DPI)",
    "LGO": "Logiciel de gestion d'officine (LGO)",
    "SGL": "Système de gestion de laboratoire (SGL)",
    "RIS": "Système d'information de radiologie (RIS)",
    "TLC": "Téléconsultation (TLC)",
    "TLE": "Téléexpertise (TLE)",
    "TLS": "Télésurveillance (TLS)",
    "DUI": "Dossier usager informatisé (DUI)",
    "EPARCOURS": "e-parcours, coordination des soins",
    "DMN": "Dispositif médical numérique (DMN)",
    "MSS": "Messagerie sécurisée de santé",
    "AUTRE": "Autre service numérique",
}

# code → (label, what the detail field means, or None when the claim has no detail)
# The Ségur referencing's details (couloir, type, wave, DSR, versions, dates) are structured: referencing.py.
CONFORMITIES: dict[str, tuple[str, str | None]] = {
    "segur": ("Référencement Ségur du numérique", None),
    "dmp": ("Compatible DMP", None),
    "psc": ("Connecté à Pro Santé Connect", None),
    "mssante": ("Compatible MSSanté", None),
    "hds": ("Hébergement certifié HDS", "Numéro ou organisme du certificat"),
    "ce": ("Marquage CE (dispositif médical numérique)", "Classe du dispositif : I, IIa, IIb ou III"),
    "mes": ("Référencé au catalogue de Mon espace santé", None),
    "insi": ("Téléservice INSi (identité nationale de santé)", None),
    "apcv": ("Application carte Vitale (ApCV)", "Numéro d'agrément CNDA"),
    "eprescription": ("Ordonnance numérique (e-prescription)", None),
    "ror": ("Répertoire opérationnel des ressources (ROR)", None),
    "cisis": ("Volets du cadre d'interopérabilité (CI-SIS)", "Volets mis en œuvre"),
    "pecan": ("Prise en charge anticipée numérique (PECAN)", "Date de la décision"),
    "lppr": ("Remboursement : inscription à la LPPR", "Code LPPR"),
}
CE_CLASSES = ("I", "IIa", "IIb", "III")

CLAIM_STATUSES: dict[str, str] = {
    "declared": "Déclarée par l'éditeur",
    "verified": "Vérifiée par l'opérateur",
    "not_verified": "Non vérifiée",
}

# RPPS / ADELI profession codes: the core's list (TRE_G15), the one accounts are created with.
PROFESSIONS: dict[str, str] = dict(CORE_PROFESSIONS)

# "FR" for a national solution; else the INSEE region codes
REGIONS: dict[str, str] = {
    "FR": "Toute la France",
    "84": "Auvergne-Rhône-Alpes",
    "27": "Bourgogne-Franche-Comté",
    "53": "Bretagne",
    "24": "Centre-Val de Loire",
    "94": "Corse",
    "44": "Grand Est",
    "32": "Hauts-de-France",
    "11": "Île-de-France",
    "28": "Normandie",
    "75": "Nouvelle-Aquitaine",
    "76": "Occitanie",
    "52": "Pays de la Loire",
    "93": "Provence-Alpes-Côte d'Azur",
    "01": "Guadeloupe",
    "02": "Martinique",
    "03": "Guyane",
    "04": "La Réunion",
    "06": "Mayotte",
}
