"""The claims about a person, in Pro Santé Connect's shape, for the ID token and the userinfo endpoint.

`sub` is the IdNat_PS for a professional (as PSC software expects: `SubjectNameID` and
`preferred_username` carry it too) and `bouquet:account:<id>` for anyone else (secretaries,
vendors, administrators have no directory identifier). Both are stable for the life of the account.

Scopes choose the claims: `openid` gives `sub`; `profile` the names; `email` the address;
`scope_all` (PSC's scope) every PSC claim:

- `SubjectNameID`, `preferred_username`: the IdNat_PS ("8" + RPPS);
- `SubjectRefPro`: `{"codeCivilite", "exercices": [{"codeProfession", "codeCategorieProfessionnelle",
  "codeCiviliteDexercice", "nomDexercice", "prenomDexercice", "codeTypeSavoirFaire", "codeSavoirFaire",
  "activities": [{…one per practice site, PSC's keys…}]}]}`;
- `SubjectRole`: `["<profession code>^1.2.250.1.213.1.1.5.5"]`; `SubjectOrganization` and
  `SubjectOrganizationID`: the first practice site's name and structure id; `otherIds`;
- `Secteur_Activite` (`<sector code>^1.2.250.1.71.4.2.4`, the first practice site's),
  `Palier_Authentification` (`<level>^1.2.250.1.213.1.5.1.1.1`, from the sign-in's `acr`),
  `email_verified`, and the fields PSC sends with fixed values (`Mode_Acces_Raison`,
  `Acces_Regulation_Medicale`, `UITVersion`, `PSI_Locale`);
- Bouquet's own: `account_kind` (professional, secretary, vendor, admin) and, for a secretary acting
  for a professional, `acting_for`: `{"SubjectNameID", "given_name", "family_name", "SubjectRole"}`.

Values the directory import does not keep are sent as "" like PSC does for empty fields.
"""

from __future__ import annotations

from typing import Any

from bouquet.sso.accounts import DOCTOR_PROFESSIONS, Account, AccountKind
from bouquet.sso.oidc.scopes import EMAIL, PROFILE, SCOPE_ALL, scope_list

# TRE_G15 "Profession": the code system of SubjectRole values.
PROFESSION_OID = "1.2.250.1.213.1.1.5.5"
# TRE_R02 "Secteur d'activité", the code system of PSC's Secteur_Activite (as in PSC's userinfo).
SECTOR_OID = "1.2.250.1.71.4.2.4"
# TRE_R231 "Palier d'authentification" (PGSSI-S), ANS, version 20231215120000,
# https://mos.esante.gouv.fr/NOS/TRE_R231-PalierAuthentification/FHIR/TRE-R231-PalierAuthentification
LEVEL_OID = "1.2.250.1.213.1.5.1.1.1"
# PSC sends APPPRIP3 ("Palier 3 de l'authentification privée … personnes physiques") for a CPS card or
# e-CPS sign-in (ANS's userinfo samples, docs/psc.md). Bouquet's own two-factor sign-ins say APPPRIP2:
# two factors that are not a CPS card. The PGSSI-S criteria for each palier were not found to check
# this against (docs/psc.md says so); a sign-in through PSC carries PSC's own value instead.
LEVEL_PSC = "APPPRIP3"
PSC_AMR = "psc"  # the `amr` value of a sign-in through Pro Santé Connect (bouquet.sso.psc.pages.PSC_AMR)
LEVEL_BOUQUET = "APPPRIP2"
# Fields of PSC's userinfo whose value Bouquet has no source for: sent as PSC sends them by default.
PSC_FIXED = {"Mode_Acces_Raison": "", "Acces_Regulation_Medicale": "FAUX", "UITVersion": "1.0",
             "PSI_Locale": "1.2.250.1.213.1.3.1.1"}

PSC_CLAIMS = ("SubjectNameID", "SubjectRefPro", "SubjectRole", "SubjectOrganization", "SubjectOrganizationID",
              "otherIds", "Secteur_Activite", "Palier_Authentification", *PSC_FIXED, "account_kind", "acting_for")
SUPPORTED = ("sub", "name", "given_name", "family_name", "preferred_username", "email", "email_verified",
             *PSC_CLAIMS, "acr", "amr", "auth_time", "sid", "nonce")


def subject(account: Account) -> str:
    """The stable `sub` of an account."""
    if account.kind == AccountKind.professional and account.idnat_ps:
        return account.idnat_ps
    return f"bouquet:account:{account.id}"


def user_claims(account: Account, acting_for: Account | None, scope: str,
                amr: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """The claims this scope releases about `account` (acting for `acting_for`, if a secretary);
    `amr` is how the sign-in was made (for `Palier_Authentification`)."""
    scopes = set(scope_list(scope))
    claims: dict[str, Any] = {"sub": subject(account)}  # whatever the scope: tokens are always about someone
    if PROFILE in scopes or SCOPE_ALL in scopes:
        claims.update(given_name=account.given_name, family_name=account.family_name,
                      name=f"{account.given_name} {account.family_name}".strip(),
                      preferred_username=account.idnat_ps or account.username)
    if EMAIL in scopes and account.email:
        # Bouquet does not prove that a person reads the address (PSC sends false too).
        claims.update(email=account.email, email_verified=False)
    if SCOPE_ALL in scopes:
        claims.update(psc_claims(account, acting_for))
        claims["Palier_Authentification"] = f"{authentication_level(amr)}^{LEVEL_OID}"
    return claims


def authentication_level(amr: list[str] | tuple[str, ...]) -> str:
    """PSC's `Palier_Authentification` code for a sign-in made with `amr`: PSC's own level for a sign-in
    through PSC (`amr` has `psc`, bouquet.sso.psc), otherwise Bouquet's two factors."""
    return LEVEL_PSC if PSC_AMR in amr else LEVEL_BOUQUET


def psc_claims(account: Account, acting_for: Account | None = None) -> dict[str, Any]:
    """Pro Santé Connect's claims about the account (and whom a secretary acts for)."""
    claims: dict[str, Any] = {"SubjectNameID": account.idnat_ps or subject(account),
                              "account_kind": str(account.kind)}
    if account.kind == AccountKind.professional:
        sites = account.practice_sites or []
        first = sites[0] if sites else {}
        claims.update(
            SubjectRefPro={"codeCivilite": account.civility_code or "", "exercices": [_exercice(account)]},
            SubjectRole=_roles(account),
            SubjectOrganization=first.get("name") or "",
            SubjectOrganizationID=first.get("structure_id") or "",
            otherIds=[{"identifiant": account.idnat_ps, "origine": "RPPS", "qualite": 1}] if account.idnat_ps else [],
            Secteur_Activite=f"{first['sector_code']}^{SECTOR_OID}" if first.get("sector_code") else "",
            **PSC_FIXED,
        )
    if acting_for is not None:
        claims["acting_for"] = {"SubjectNameID": acting_for.idnat_ps or subject(acting_for),
                                "given_name": acting_for.given_name, "family_name": acting_for.family_name,
                                "SubjectRole": _roles(acting_for)}
    return claims


def _roles(account: Account) -> list[str]:
    return [f"{account.profession_code}^{PROFESSION_OID}"] if account.profession_code else []


def _exercice(account: Account) -> dict[str, Any]:
    specialty = account.specialty_code or ""
    return {
        "codeProfession": account.profession_code or "",
        "codeCategorieProfessionnelle": account.profession_category or "",
        "codeCiviliteDexercice": "DR" if account.profession_code in DOCTOR_PROFESSIONS else "",
        "nomDexercice": account.family_name,
        "prenomDexercice": account.given_name,
        # SM… codes are ordinal specialties (TRE_R38), whose savoir-faire type is "S".
        "codeTypeSavoirFaire": "S" if specialty.startswith("SM") else "",
        "codeSavoirFaire": specialty,
        "activities": [_activity(site) for site in account.practice_sites or []],
    }


def _activity(site: dict[str, Any]) -> dict[str, str]:
    """One practice site as a PSC `activities` entry (the keys PSC sends, in its order)."""
    commune_code = site.get("commune_code") or ""

    def value(key: str) -> str:
        return str(site.get(key) or "")

    return {
        "codeModeExercice": value("mode_code"),
        "codeSecteurDactivite": value("sector_code"),
        "codeSectionPharmacien": value("pharmacist_section_code"),
        "codeRole": value("role_code"),
        "codeGenreActivite": value("activity_kind_code"),
        "numeroSiretSite": value("siret"),
        "numeroSirenSite": value("siren"),
        "numeroFinessSite": value("finess"),
        "numeroFinessetablissementJuridique": value("finess_legal"),
        "identifiantTechniqueDeLaStructure": value("structure_id"),
        "raisonSocialeSite": value("name"),
        "enseigneCommercialeSite": value("brand"),
        "complementDestinataire": "",
        "complementPointGeographique": "",
        "numeroVoie": "",
        "indiceRepetitionVoie": "",
        "codeTypeDeVoie": "",
        "libelleVoie": value("address"),
        "mentionDistribution": "",
        "bureauCedex": "",
        "codePostal": value("postal_code"),
        "codeCommune": commune_code,
        "libelleCommune": value("commune"),
        "codePays": "",
        "telephone": "",
        "telephone2": "",
        "telecopie": "",
        "adresseEMail": "",
        "codeDepartement": commune_code[:3] if commune_code.startswith("97") else commune_code[:2],
        "ancienIdentifiantDeLaStructure": "",
        "autoriteDenregistrement": "",
    }
