"""The vaccine codes (CVX) that map to the prevention plugin's act codes, and the professionals' identifier system.

Document types and classes are the DMP's own value sets (`doctypes`), and who may read which type is
the official matrix (`matrix`): neither lives in code."""

from __future__ import annotations

CVX = "http://hl7.org/fhir/sid/cvx"
CVX_OID = "2.16.840.1.113883.12.292"
#: The identifier system of professionals (IdNat_PS), as the ANS FHIR guides name it.
IDNAT_PS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
#: Confidentiality codes a document carries besides the standard « R » (masqué aux professionnels), under the
#: names the DMP uses; the system is Bouquet's own (the DMP's code-system OID was not found in the material read).
CONFIDENTIALITY_SYSTEM = "urn:bouquet:dmp:confidentialite"
INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS = "INVISIBLE_PATIENT", "INVISIBLE_REPRESENTANTS_LEGAUX"
#: The professions the DMP's screens name (TRE_G15_ProfessionSante codes), and the matrix's row for secretaries.
PROFESSIONS: dict[str, str] = {
    "10": "Médecin", "21": "Pharmacien", "40": "Chirurgien-dentiste", "50": "Sage-femme",
    "60": "Infirmier", "70": "Masseur-kinésithérapeute", "80": "Pédicure-podologue", "secretaire": "Secrétaire",
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
