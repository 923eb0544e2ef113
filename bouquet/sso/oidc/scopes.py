"""The scopes the provider knows, and how the consent page describes each to a person (in French).

`openid` and `profile`, `email` are OpenID Connect's; `scope_all` is Pro Santé Connect's name for
"every claim about the professional" (`SubjectRefPro`, `SubjectRole`…), kept so that software
written for PSC asks for the same thing here; `launch` is SMART App Launch's: used by the practice
software's backend (client credentials) to hand over a patient context, and by an app opened from
Bouquet (code flow with a `launch` handle) to receive the patient in context. `fhirUser` and
`patient/Patient.read` (SMART v1 spelling; `patient/Patient.rs` in v2) are SMART's too.
"""

from __future__ import annotations

OPENID, PROFILE, EMAIL, SCOPE_ALL, LAUNCH = "openid", "profile", "email", "scope_all", "launch"
FHIR_USER, PATIENT_READ, PATIENT_RS = "fhirUser", "patient/Patient.read", "patient/Patient.rs"
CATALOG_SUBMIT = "catalog.submit"  # a vendor's software filing its solutions (plugin bouquet-catalog)

SUPPORTED = (OPENID, PROFILE, EMAIL, SCOPE_ALL, LAUNCH, FHIR_USER, PATIENT_READ, PATIENT_RS, CATALOG_SUBMIT)

DESCRIPTIONS = {
    OPENID: "Vous reconnaître quand vous vous connectez (un identifiant qui vous est propre)",
    PROFILE: "Vos nom et prénom",
    EMAIL: "Votre adresse électronique",
    SCOPE_ALL: "Votre identité professionnelle : numéro RPPS, profession, spécialité et lieux d'exercice "
               "(et, pour un secrétariat, le professionnel pour qui vous agissez)",
    LAUNCH: "Savoir quel patient vous avez ouvert dans Bouquet quand vous lancez l'application depuis Bouquet",
    FHIR_USER: "Vous reconnaître comme professionnel de santé (lien vers votre fiche professionnelle)",
    PATIENT_READ: "Lire l'identité INS de ce patient : matricule, nom de naissance, prénoms, sexe, date et lieu de naissance",
    PATIENT_RS: "Lire l'identité INS de ce patient : matricule, nom de naissance, prénoms, sexe, date et lieu de naissance",
    CATALOG_SUBMIT: "Déposer et mettre à jour les solutions de l'éditeur au catalogue",
}


def scope_list(scope: str | None) -> list[str]:
    """The distinct values of a space-separated scope string, in order."""
    return list(dict.fromkeys((scope or "").split()))


def describe(scope: str) -> list[str]:
    """What a person is asked to share, one French sentence per known scope (each sentence once)."""
    return list(dict.fromkeys(DESCRIPTIONS[value] for value in scope_list(scope) if value in DESCRIPTIONS))
