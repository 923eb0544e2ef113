"""Evidence as documents, and the reviewer's decision requirement by requirement.

A vendor uploads, for one claimed requirement, a PDF document: a CNDA attestation (its number and
date), an interoperability test report, the third-party penetration test report the Ségur wave asks
for, a certificate… (`KINDS`). The reviewer then decides each claimed requirement of the revision
under review — accepted or refused, with a comment — and every decision is kept. On approval, the
claims whose latest decision is « accepted » are the verified ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from bouquet_catalog.models import EvidenceDocument, RequirementDecision, Revision, Solution
from bouquet_catalog.solutions import Actor
from bouquet_catalog.vocabulary import CONFORMITIES

KINDS: dict[str, str] = {
    "cnda": "Attestation du CNDA",
    "interop": "Rapport de tests d'interopérabilité",
    "pentest": "Rapport de test d'intrusion par un tiers",
    "certificate": "Certificat",
    "other": "Autre pièce justificative",
}
DECISIONS: dict[str, str] = {"accepted": "Exigence satisfaite", "refused": "Exigence non satisfaite"}
MAX_BYTES = 5 * 1024 * 1024
MAX_COMMENT = 2000


class InvalidEvidence(ValueError):
    """The upload or the decision is not acceptable: `errors` maps a field to its French message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class Requirement:
    """One claimed requirement of a revision: its documents and its decisions (latest first)."""

    claim: str
    label: str
    documents: list[EvidenceDocument]
    decisions: list[RequirementDecision]

    @property
    def latest(self) -> RequirementDecision | None:
        return self.decisions[0] if self.decisions else None


def add(session: Session, solution: Solution, actor: Actor, *, claim: str, kind: str, reference: str, issued_on: str,
        filename: str, data: bytes) -> EvidenceDocument:
    """Store one evidence document (in the caller's transaction); InvalidEvidence names every field at fault."""
    errors: dict[str, str] = {}
    reference, issued_on, filename = reference.strip(), issued_on.strip(), (filename or "").strip()
    if claim not in CONFORMITIES:
        errors["evidence_claim"] = "Choisissez l'exigence que ce document prouve."
    if kind not in KINDS:
        errors["evidence_kind"] = "Choisissez le type de document."
    if not reference or len(reference) > 100:
        errors["evidence_reference"] = "Indiquez le numéro du document (attestation, rapport), 100 caractères au plus."
    try:
        issued = date.fromisoformat(issued_on)
    except ValueError:
        errors["evidence_issued_on"] = "Indiquez la date du document."
    else:
        if issued > date.today():
            errors["evidence_issued_on"] = "La date du document ne peut pas être dans le futur."
    if not data:
        errors["evidence_file"] = "Joignez le document (PDF)."
    elif len(data) > MAX_BYTES:
        errors["evidence_file"] = f"Le document dépasse {MAX_BYTES // (1024 * 1024)} Mo."
    elif not data.startswith(b"%PDF-"):
        errors["evidence_file"] = "Le document doit être un PDF."
    if errors:
        raise InvalidEvidence(errors)
    row = EvidenceDocument(solution_id=solution.id, claim=claim, kind=kind, reference=reference, issued_on=issued_on,  # type: ignore[arg-type]
                           filename=filename[-200:] or "document.pdf", content_type="application/pdf", data=data,
                           uploaded_by=actor.label[:200])
    session.add(row)
    session.flush()
    return row


def decide(session: Session, solution: Solution, actor: Actor, *, claim: str, decision: str,
           comment: str) -> RequirementDecision:
    """Record the reviewer's decision on one claimed requirement of the revision under review."""
    revision = session.get(Revision, solution.pending_revision_id or 0)
    errors: dict[str, str] = {}
    if revision is None:
        raise InvalidEvidence({"decision": "Aucune version n'est en cours d'instruction."})
    if claim not in (revision.content.get("claims") or {}):
        errors["decision"] = "Cette exigence n'est pas revendiquée par la version en cours d'instruction."
    if decision not in DECISIONS:
        errors["decision"] = "Choisissez : exigence satisfaite ou non satisfaite."
    comment = comment.strip()
    if decision == "refused" and not comment:
        errors["comment"] = "Expliquez ce qui manque : l'éditeur lira ce commentaire."
    if len(comment) > MAX_COMMENT:
        errors["comment"] = f"Le commentaire compte {MAX_COMMENT} caractères au plus."
    if errors:
        raise InvalidEvidence(errors)
    row = RequirementDecision(solution_id=solution.id, revision_id=revision.id, claim=claim, decision=decision,  # type: ignore[arg-type]
                              comment=comment, decided_by=actor.label[:200])
    session.add(row)
    session.flush()
    return row


def requirements(session: Session, solution: Solution, revision: Revision | None) -> list[Requirement]:
    """The claimed requirements of `revision`, each with the solution's documents and this revision's decisions."""
    if revision is None:
        return []
    documents = session.exec(select(EvidenceDocument).where(EvidenceDocument.solution_id == solution.id)
                             .order_by(col(EvidenceDocument.uploaded_at).desc(), col(EvidenceDocument.id).desc())).all()
    decisions = session.exec(select(RequirementDecision).where(RequirementDecision.revision_id == revision.id)
                             .order_by(col(RequirementDecision.decided_at).desc(),
                                       col(RequirementDecision.id).desc())).all()
    return [Requirement(code, CONFORMITIES.get(code, (code, None))[0], [d for d in documents if d.claim == code],
                        [d for d in decisions if d.claim == code])
            for code in (revision.content.get("claims") or {})]


def accepted(session: Session, revision_id: int | None) -> set[str]:
    """The claims whose latest decision on this revision is « accepted »."""
    latest: dict[str, str] = {}
    for row in session.exec(select(RequirementDecision).where(RequirementDecision.revision_id == (revision_id or 0))
                            .order_by(col(RequirementDecision.decided_at), col(RequirementDecision.id))).all():
        latest[row.claim] = row.decision
    return {claim for claim, decision in latest.items() if decision == "accepted"}


def documents_of(session: Session, solution_id: int) -> list[EvidenceDocument]:
    return list(session.exec(select(EvidenceDocument).where(EvidenceDocument.solution_id == solution_id)
                             .order_by(col(EvidenceDocument.id))).all())


def summary(row: EvidenceDocument) -> dict[str, Any]:
    """What the pages show of a document (never its bytes)."""
    return {"id": row.id, "claim": row.claim, "claim_label": CONFORMITIES.get(row.claim, (row.claim, None))[0],
            "kind": KINDS.get(row.kind, row.kind), "reference": row.reference, "issued_on": row.issued_on,
            "filename": row.filename}
