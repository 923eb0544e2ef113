"""Demonstration data (`bouquet demo`): the vendor of the demo account `editeur.sante` and a dozen solutions
in every state of the workflow. Safe to run twice: solutions are found by name and left alone."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from bouquet.api.db import Database
from bouquet_catalog import solutions
from bouquet_catalog.models import Revision, Solution
from bouquet_catalog.solutions import Actor
from bouquet_catalog.workflow import OPERATOR, VENDOR

SIREN, NAME = "999000003", "Éditions Santé Numérique"  # the organisation of the demo account editeur.sante
VENDOR_ACTOR = Actor(None, "Paul Lambert (Éditions Santé Numérique)", VENDOR)
OPERATOR_ACTOR = Actor(None, "Camille Roux (opérateur du catalogue)", OPERATOR)


def _claim(evidence: str, detail: str = "") -> dict[str, str]:
    return {"detail": detail, "evidence": evidence, "status": "declared"}


def _solution(name: str, category: str, description: str, professions: list[str], regions: list[str],
              claims: dict[str, dict[str, str]], launch: str | None = None) -> dict[str, Any]:
    slug = name.lower().split()[0]
    return {"name": name, "category": category, "version": "2026.1", "description": description,
            "professions": professions, "regions": regions, "claims": claims,
            "website": f"https://{slug}.editions-sante.example", "launch_url": launch,
            "redirect_uris": [f"https://{slug}.editions-sante.example/oidc/callback"] if launch else [],
            "jwks": None}


# (content, the moves that bring it to its demo state, reasons)
SOLUTIONS: list[tuple[dict[str, Any], list[tuple[str, str | None]]]] = [
    (_solution("Médicab Cabinet", "LGC", "Logiciel de gestion de cabinet pour la médecine de ville : dossier médical, "
               "ordonnances sécurisées, feuilles de soins électroniques.\n\nAlimente le DMP et la messagerie MSSanté.",
               ["10"], ["FR"], {"segur": _claim("Attestation ANS n° SEG-2024-0412", "Vague 2"), "dmp": _claim("Homologation DMP 2024"),
                                "psc": _claim("Raccordement PSC validé"), "mssante": _claim("Opérateur MSSanté n° 0031")},
               "https://medicab.editions-sante.example/launch"),
     [("submit", None), ("start_review", None), ("approve", "segur dmp psc mssante")]),
    (_solution("Officine Plus", "LGO", "Logiciel de gestion d'officine : dispensation, dossier pharmaceutique, vaccination.",
               ["21"], ["FR"], {"segur": _claim("Attestation ANS n° SEG-2024-0507", "Vague 1"), "dmp": _claim("Homologation DMP 2023")}),
     [("submit", None), ("start_review", None), ("approve", "segur dmp")]),
    (_solution("Télésuivi Cœur", "TLS", "Télésurveillance de l'insuffisance cardiaque : poids, tension et symptômes "
               "transmis chaque jour, alertes à l'équipe soignante.", ["10", "60"], ["FR"],
               {"ce": _claim("Certificat CE n° 2025-TS-118", "IIa"), "hds": _claim("Certificat HDS n° HDS-2025-77", "AFNOR"),
                "psc": _claim("Raccordement PSC validé")}, "https://telesuivi.editions-sante.example/launch"),
     [("submit", None), ("start_review", None), ("approve", "ce hds psc")]),
    (_solution("Parcours Rhône", "EPARCOURS", "Coordination des parcours complexes en Auvergne-Rhône-Alpes : "
               "plan personnalisé de coordination, équipe de soins, tâches partagées.", ["10", "60", "70"], ["84"],
               {"hds": _claim("Certificat HDS n° HDS-2024-12", "Bureau Veritas"), "psc": _claim("Raccordement PSC validé")},
               "https://parcours.editions-sante.example/launch"),
     [("submit", None), ("start_review", None), ("approve", "hds psc")]),
    (_solution("Consult'Écran", "TLC", "Téléconsultation en vidéo depuis le cabinet ou le domicile, avec ordonnance "
               "et compte rendu déposés au DMP.", ["10", "50"], ["FR"], {"hds": _claim("Certificat HDS n° HDS-2023-90", "LNE"),
                                                                   "dmp": _claim("Homologation DMP 2025")}),
     [("submit", None), ("start_review", None), ("approve", "hds")]),
    (_solution("Expertise Peau", "TLE", "Téléexpertise en dermatologie : le médecin traitant envoie des photos, "
               "le dermatologue répond sous 7 jours.", ["10"], ["76", "75"], {"hds": _claim("Certificat HDS n° HDS-2024-03", "AFNOR")}),
     [("submit", None), ("start_review", None), ("approve", "hds"), ("suspend", "Certificat HDS expiré : en attente de renouvellement.")]),
    (_solution("Labo Connect", "SGL", "Système de gestion de laboratoire : résultats structurés, envoi MSSanté.",
               ["21", "10"], ["11"], {"mssante": _claim("Opérateur MSSanté n° 0077")}),
     [("submit", None)]),
    (_solution("Radio Flux", "RIS", "Système d'information de radiologie : rendez-vous, comptes rendus, images.",
               ["10"], ["44"], {"segur": _claim("Attestation ANS n° SEG-2025-0102", "Vague 2")}),
     [("submit", None), ("start_review", None)]),
    (_solution("Kiné Agenda", "LGC", "Agenda et dossier du masseur-kinésithérapeute.", ["70"], ["FR"],
               {"psc": _claim("Raccordement PSC en cours")}),
     [("submit", None), ("start_review", None),
      ("request_changes", "Joignez l'attestation de raccordement Pro Santé Connect définitive.")]),
    (_solution("Mon Podo", "AUTRE", "Application grand public de conseils podologiques.", ["80"], ["FR"], {}),
     [("submit", None), ("start_review", None), ("reject", "Application destinée aux patients : hors du périmètre du catalogue.")]),
    (_solution("Dossier Usager Médico-social", "DUI", "Dossier usager informatisé pour les établissements médico-sociaux.",
               ["60"], ["53", "52"], {"segur": _claim("Attestation ANS n° SEG-2025-0333", "Vague 1")}),
     []),
    (_solution("Glyco Suivi", "DMN", "Dispositif médical numérique de suivi du diabète, remboursé (PECAN).",
               ["10", "60"], ["FR"], {"ce": _claim("Certificat CE n° 2024-DM-551", "IIb"), "mes": _claim("Référencé Mon espace santé 2025")}),
     [("submit", None), ("start_review", None), ("approve", "ce mes"), ("suspend", "Signalement de matériovigilance en cours d'analyse."),
      ("withdraw", "Retrait décidé par l'éditeur après analyse.")]),
]


def load(db: Database) -> None:
    with db.write() as session:
        vendor = solutions.vendor_for(session, SIREN, NAME)
        existing = {row.content.get("name") for row in session.exec(
            select(Revision).join(Solution, Solution.id == Revision.solution_id).where(Solution.vendor_id == vendor.id)).all()}
        for content, moves in SOLUTIONS:
            if content["name"] in existing:
                continue
            solution = solutions.create(session, vendor, content, [], VENDOR_ACTOR)
            for name, reason in moves:
                actor = VENDOR_ACTOR if name == "submit" else OPERATOR_ACTOR
                verified = set((reason or "").split()) if name == "approve" else None
                solutions.transition(session, solution, name, actor, None if name == "approve" else reason, verified)
