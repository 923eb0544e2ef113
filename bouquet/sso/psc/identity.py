"""Who a PSC sign-in is: the account linked to its IdNat (`SubjectNameID`), linked at the first PSC
sign-in of a professional Bouquet knows (audited), or created from PSC's claims when the operator
allows it (`BOUQUET_PSC_CREATE_ACCOUNTS`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from bouquet.foundation.audit import Auditor
from bouquet.foundation.db import utcnow
from bouquet.sso.accounts import Account, AccountKind, create_account, is_idnat_ps
from bouquet.sso.psc.models import PscIdentity


class UnknownProfessional(Exception):
    """PSC signed in someone Bouquet has no account for, and the operator does not create accounts."""


class NotAProfessional(Exception):
    """PSC's claims name no valid IdNat, or an account that is not an active professional's."""


@dataclass(frozen=True)
class Resolved:
    account: Account
    linked_now: bool
    created: bool


def idnat_of(info: dict[str, Any]) -> str:
    value = str(info.get("SubjectNameID") or info.get("preferred_username") or "")
    if not is_idnat_ps(value):
        raise NotAProfessional(f"SubjectNameID {value!r} is not an RPPS IdNat")
    return value


def resolve(session: Session, audit: Auditor, info: dict[str, Any], *, create: bool) -> Resolved:
    """The account PSC's userinfo `info` names, in the caller's transaction."""
    idnat = idnat_of(info)
    link = session.exec(select(PscIdentity).where(PscIdentity.subject_name_id == idnat)).first()
    account = session.get(Account, link.account_id) if link is not None else \
        session.exec(select(Account).where(Account.idnat_ps == idnat)).first()
    created = False
    if account is None:
        if not create:
            raise UnknownProfessional(idnat)
        account = _create(session, info, idnat)
        created = True
        audit.write_in(session, "account.created_from_psc", resource=f"account:{account.id}",
                       details={"idnat": idnat})
    if account.kind != AccountKind.professional or not account.active or account.id is None:
        raise NotAProfessional(f"account {account.id} cannot sign in through PSC")
    linked_now = link is None
    if link is None:
        link = PscIdentity(account_id=account.id, subject_name_id=idnat, psc_sub=str(info["sub"]))
        audit.write_in(session, "signin.psc_linked", resource=f"account:{account.id}",
                       details={"idnat": idnat, "psc_sub": str(info["sub"])})
    link.last_signin_at = utcnow()
    session.add(link)
    return Resolved(account, linked_now, created)


def _create(session: Session, info: dict[str, Any], idnat: str) -> Account:
    exercices = (info.get("SubjectRefPro") or {}).get("exercices") or [{}]
    exercice = exercices[0] if isinstance(exercices[0], dict) else {}
    specialty_code = str(exercice.get("codeSavoirFaire") or "")
    account = create_account(session, kind=AccountKind.professional, username=idnat,
                             given_name=str(info.get("given_name") or exercice.get("prenomDexercice") or "").strip(),
                             family_name=str(info.get("family_name") or exercice.get("nomDexercice") or "").strip(),
                             email=info.get("email") or None, idnat_ps=idnat,
                             profession_code=str(exercice.get("codeProfession") or ""),
                             specialty_code=specialty_code,
                             specialty_label=str(exercice.get("libelleSavoirFaire") or specialty_code))
    account.civility_code = (info.get("SubjectRefPro") or {}).get("codeCivilite") or info.get("codeCivilite") or None
    account.profession_code = exercice.get("codeProfession") or None
    account.profession_category = exercice.get("codeCategorieProfessionnelle") or None
    account.specialty_code = exercice.get("codeSavoirFaire") or None
    account.practice_sites = [_site(activity) for activity in exercice.get("activities") or []
                              if isinstance(activity, dict)]
    session.add(account)
    return account


def _site(activity: dict[str, Any]) -> dict[str, str]:
    """A practice site from a PSC `activities` entry (the keys `bouquet.sso.rpps` stores)."""
    street = " ".join(str(activity.get(key) or "") for key in ("numeroVoie", "indiceRepetitionVoie",
                                                               "codeTypeDeVoie", "libelleVoie")).split()
    site = {"structure_id": activity.get("identifiantTechniqueDeLaStructure"),
            "name": activity.get("raisonSocialeSite") or activity.get("enseigneCommercialeSite"),
            "siret": activity.get("numeroSiretSite"), "siren": activity.get("numeroSirenSite"),
            "finess": activity.get("numeroFinessSite"), "finess_legal": activity.get("numeroFinessetablissementJuridique"),
            "address": " ".join(street), "postal_code": activity.get("codePostal"),
            "commune_code": activity.get("codeCommune"), "commune": activity.get("libelleCommune"),
            "mode_code": activity.get("codeModeExercice"), "role_code": activity.get("codeRole"),
            "sector_code": activity.get("codeSecteurDactivite")}
    return {key: str(value) for key, value in site.items() if value}
