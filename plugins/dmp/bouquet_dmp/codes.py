"""The codes the DMP speaks: document types (LOINC), document classes, the default access matrix,
and the vaccine codes (CVX) that map to the prevention plugin's act codes."""

from __future__ import annotations

from dataclasses import dataclass

LOINC = "http://loinc.org"
#: Bouquet's document classes. The DMP's own class codes (JDV_J07-XdsClassCode-CISIS) are coarser;
#: the access matrix needs the finer split (a nurse reads biologie, not a consultation report).
CLASS_SYSTEM = "urn:bouquet:dmp:class"
CVX = "http://hl7.org/fhir/sid/cvx"
CVX_OID = "2.16.840.1.113883.12.292"
#: The identifier system of professionals (IdNat_PS), as the ANS FHIR guides name it.
IDNAT_PS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
#: The secretary's "profession" in the access matrix.
SECRETARY = "secretaire"


@dataclass(frozen=True)
class DocumentType:
    code: str
    label: str
    class_code: str


CLASSES: dict[str, str] = {
    "compte-rendu": "Comptes rendus",
    "biologie": "Biologie",
    "ordonnance": "Traitements et prescriptions",
    "synthese": "Synthèses et lettres de liaison",
    "vaccination": "Vaccinations",
    "administratif": "Documents administratifs",
}

TYPES: dict[str, DocumentType] = {t.code: t for t in (
    DocumentType("11488-4", "Compte rendu de consultation", "compte-rendu"),
    DocumentType("11502-2", "Résultats d'examens de biologie médicale", "biologie"),
    DocumentType("57833-6", "Ordonnance de produits de santé", "ordonnance"),
    DocumentType("11490-0", "Lettre de liaison à la sortie d'un établissement", "synthese"),
    DocumentType("87273-9", "Note de vaccination", "vaccination"),
    DocumentType("57016-8", "Recueil de consentement", "administratif"),
)}
VACCINATION_TYPE = "87273-9"

PROFESSIONS: dict[str, str] = {
    "10": "Médecin", "21": "Pharmacien", "40": "Chirurgien-dentiste", "50": "Sage-femme",
    "60": "Infirmier", "70": "Masseur-kinésithérapeute", SECRETARY: "Secrétaire",
}

#: Which classes each profession reads by default (seeded by the migration; changed in the table).
DEFAULT_MATRIX: dict[str, frozenset[str]] = {
    "10": frozenset(CLASSES),
    "50": frozenset(CLASSES),
    "40": frozenset({"compte-rendu", "biologie", "ordonnance", "vaccination", "administratif"}),
    "21": frozenset({"biologie", "ordonnance", "vaccination", "administratif"}),
    "60": frozenset({"biologie", "ordonnance", "synthese", "vaccination", "administratif"}),
    "70": frozenset({"ordonnance", "synthese", "administratif"}),
    SECRETARY: frozenset({"administratif"}),
}

#: CVX code → the prevention plugin's act code (its data/catalogue.yaml lists the same codes).
CVX_TO_ACT: dict[str, str] = {
    **{code: "grippe" for code in ("88", "135", "140", "141", "150", "153", "155", "158", "168", "171",
                                   "185", "186", "197", "205", "320")},
    "115": "dTcaP",
    **{code: "dTP" for code in ("09", "113", "138", "139", "196")},
    "216": "pneumocoque-VPC20",
    "187": "zona-Shingrix",
    **{code: "VRS" for code in ("303", "305", "314", "326")},
    **{code: "HPV" for code in ("165", "62", "118", "137")},
}
