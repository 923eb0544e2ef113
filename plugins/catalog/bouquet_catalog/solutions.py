"""The catalogue's operations, each inside the caller's transaction: file, edit, move through review, search.

Every function takes a SQLModel `Session` (from `db.write()`): a refused operation raises before
anything is written, and the caller's transaction makes the rest all-or-nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from bouquet.api import oauth as oidc_clients
from bouquet.api.db import utcnow
from bouquet_catalog import SUBMIT_SCOPE, workflow
from bouquet_catalog.images import CheckedImage
from bouquet_catalog.models import (
    Image,
    ReviewEvent,
    Revision,
    Solution,
    Vendor,
    VendorApiClient,
)
from bouquet_catalog.submissions import InvalidSubmission
from bouquet_catalog.text import fold, terms
from bouquet_catalog.vocabulary import CATEGORIES, CONFORMITIES
from bouquet_catalog.workflow import CHANGE, SOLUTION, Status, TransitionRefused

if TYPE_CHECKING:
    from bouquet.api.oauth import KnownScopes

LAUNCH_SCOPE = "openid profile email scope_all launch fhirUser patient/Patient.read"
PAGE_SIZE = 20


class NotFound(LookupError):
    """No such solution (or not one this person may see)."""


class NotOwned(NotFound):
    """Another vendor's solution: answered as not found, audited as a refusal."""


@dataclass(frozen=True)
class Actor:
    """Who acts: their account id, how the history names them, and their side (workflow.VENDOR / OPERATOR)."""

    account_id: int | None
    label: str
    side: str
    vendor_id: int | None = None


# --- vendors -----------------------------------------------------------------------------------

def vendor_for(session: Session, siren: str, name: str) -> Vendor:
    """The vendor organisation with this SIREN, created on first use."""
    vendor = session.exec(select(Vendor).where(Vendor.siren == siren)).first()
    if vendor is None:
        vendor = Vendor(siren=siren, name=name or f"Éditeur {siren}")
        session.add(vendor)
        session.flush()
    return vendor


def vendor_of_client(session: Session, client_id: str) -> Vendor | None:
    row = session.exec(select(VendorApiClient).where(VendorApiClient.client_id == client_id)).first()
    return session.get(Vendor, row.vendor_id) if row else None


def api_clients(session: Session, vendor: Vendor) -> list[VendorApiClient]:
    return list(session.exec(select(VendorApiClient).where(VendorApiClient.vendor_id == vendor.id)
                             .order_by(col(VendorApiClient.id))).all())


def create_api_client(session: Session, vendor: Vendor, actor: Actor,
                      known_scopes: KnownScopes) -> oidc_clients.RegisteredClient:
    """A client-credentials client with scope `catalog.submit` for the vendor's software; its secret is shown once.

    `known_scopes` is the app's (`bouquet.sso.oidc.known_scopes(app)`), where this plugin's
    `bouquet_scopes` declared `catalog.submit`."""
    registered = oidc_clients.register_client(
        session, name=f"API catalogue — {vendor.name}", grant_types=["client_credentials"], scope=SUBMIT_SCOPE,
        owner=f"catalog-vendor:{vendor.id}", created_by=actor.label, known_scopes=known_scopes)
    session.add(VendorApiClient(vendor_id=vendor.id, client_id=registered.client.client_id, created_by=actor.label[:200]))
    return registered


# --- reading -----------------------------------------------------------------------------------

def get(session: Session, solution_id: int) -> Solution:
    solution = session.get(Solution, solution_id)
    if solution is None:
        raise NotFound(solution_id)
    return solution


def owned(session: Session, solution_id: int, vendor_id: int) -> Solution:
    """The vendor's own solution (another vendor's is "not found")."""
    solution = get(session, solution_id)
    if solution.vendor_id != vendor_id:
        raise NotOwned(solution_id)
    return solution


def referenced(session: Session, solution_id: int) -> tuple[Solution, Revision]:
    """A solution professionals may see (referenced) and its published revision."""
    solution = get(session, solution_id)
    if solution.status != Status.REFERENCED or solution.published_revision_id is None:
        raise NotFound(solution_id)
    return solution, session.get(Revision, solution.published_revision_id)  # type: ignore[return-value]


def revision(session: Session, revision_id: int | None) -> Revision | None:
    return session.get(Revision, revision_id) if revision_id else None


def images_of(session: Session, revision_id: int | None) -> list[Image]:
    if not revision_id:
        return []
    return list(session.exec(select(Image).where(Image.revision_id == revision_id)
                             .order_by(col(Image.role), col(Image.position))).all())


def history(session: Session, solution_id: int) -> list[ReviewEvent]:
    return list(session.exec(select(ReviewEvent).where(ReviewEvent.solution_id == solution_id)
                             .order_by(col(ReviewEvent.at), col(ReviewEvent.id))).all())


def of_vendor(session: Session, vendor_id: int) -> list[Solution]:
    return list(session.exec(select(Solution).where(Solution.vendor_id == vendor_id).order_by(col(Solution.id))).all())


def review_queue(session: Session) -> list[Solution]:
    """Solutions awaiting the operator first, then every other one (newest first)."""
    waiting = (Status.SUBMITTED, Status.UNDER_REVIEW)
    rows = session.exec(select(Solution).order_by(col(Solution.updated_at).desc())).all()
    return sorted(rows, key=lambda s: 0 if s.status in waiting or s.change_status in waiting else 1)


def content_of(session: Session, solution: Solution) -> dict[str, Any]:
    """The content the vendor is working on (pending), else the published one."""
    current = revision(session, solution.pending_revision_id or solution.published_revision_id)
    return current.content if current else {}


# --- filing and editing ------------------------------------------------------------------------

def create(session: Session, vendor: Vendor, content: dict[str, Any], images: list[CheckedImage], actor: Actor) -> Solution:
    """A new solution in draft, with its first revision."""
    solution = Solution(vendor_id=vendor.id, status=Status.DRAFT)  # type: ignore[arg-type]
    session.add(solution)
    session.flush()
    pending = _new_revision(session, solution, content, images, None, actor)
    solution.pending_revision_id = pending.id
    _event(session, solution, pending.id, SOLUTION, "create", "", Status.DRAFT, actor, None)
    return solution


def update(session: Session, solution: Solution, content: dict[str, Any], images: list[CheckedImage],
           actor: Actor) -> Solution:
    """Replace the content under way: a draft is edited in place; a submitted revision is never edited
    (the fix becomes a new revision); a published solution's change waits for review before it shows."""
    if solution.published_revision_id is None:
        if solution.status not in workflow.EDITABLE:
            raise TransitionRefused(_not_editable(solution.status))
    else:
        if solution.status not in (Status.REFERENCED, Status.SUSPENDED):
            raise TransitionRefused(_not_editable(solution.status))
        if solution.change_status in (Status.SUBMITTED, Status.UNDER_REVIEW):
            raise TransitionRefused(_not_editable(solution.change_status))
    pending = revision(session, solution.pending_revision_id)
    if pending is not None and pending.submitted_at is None:
        pending.content = content
        _replace_images(session, pending.id, images)  # type: ignore[arg-type]
        session.add(pending)
    else:
        base = pending or revision(session, solution.published_revision_id)
        pending = _new_revision(session, solution, content, images, base, actor)
        solution.pending_revision_id = pending.id
    if solution.published_revision_id is not None:
        if solution.change_status is None:
            _event(session, solution, pending.id, CHANGE, "create", "", Status.DRAFT, actor, None)
        solution.change_status = Status.DRAFT
    solution.updated_at = utcnow()
    session.add(solution)
    return solution


def _not_editable(status: str | None) -> str:
    return (f"La solution ne peut pas être modifiée : sa demande est à l'état « {workflow.LABELS.get(status or '', status)} ». "
            "Attendez la décision de l'opérateur.")


def _new_revision(session: Session, solution: Solution, content: dict[str, Any], images: list[CheckedImage],
                  base: Revision | None, actor: Actor) -> Revision:
    number = (session.exec(select(func.max(Revision.number)).where(Revision.solution_id == solution.id)).one() or 0) + 1
    row = Revision(solution_id=solution.id, number=number, content=content, created_by=actor.label[:200])  # type: ignore[arg-type]
    session.add(row)
    session.flush()
    kept = {image.role for image in images}
    for old in images_of(session, base.id if base else None):
        if old.role not in kept:  # images not sent again are carried over
            session.add(Image(revision_id=row.id, role=old.role, position=old.position, content_type=old.content_type,
                              width=old.width, height=old.height, data=old.data))
    _add_images(session, row.id, images)  # type: ignore[arg-type]
    return row


def _replace_images(session: Session, revision_id: int, images: list[CheckedImage]) -> None:
    roles = {image.role for image in images}
    for old in images_of(session, revision_id):
        if old.role in roles:
            session.delete(old)
    _add_images(session, revision_id, images)


def _add_images(session: Session, revision_id: int, images: list[CheckedImage]) -> None:
    for position, image in enumerate(images):
        session.add(Image(revision_id=revision_id, role=image.role, position=position, content_type=image.content_type,
                          width=image.width, height=image.height, data=image.data))


# --- the workflow ------------------------------------------------------------------------------

def track_of(solution: Solution, name: str) -> str:
    """Which track a transition applies to: a published solution's reviews concern its pending change."""
    if name in ("suspend", "reinstate", "withdraw") or solution.published_revision_id is None:
        return SOLUTION
    return CHANGE


def transition(session: Session, solution: Solution, name: str, actor: Actor, reason: str | None = None,
               verified: set[str] | None = None) -> workflow.Transition:
    """Make one move of the workflow (or raise TransitionRefused), record it, and apply its effects.

    `verified`: on approval, the conformity claims the operator checked (the others are "not verified").
    """
    track = track_of(solution, name)
    current = solution.change_status if track == CHANGE else solution.status
    if current is None:
        raise TransitionRefused("Aucune modification n'est en attente pour cette solution.")
    move = workflow.check(name, current, actor.side, track, reason)
    pending = revision(session, solution.pending_revision_id)
    if move.name == "submit" and pending is not None:
        pending.submitted_at = utcnow()
        session.add(pending)
    if move.name == "approve":
        assert pending is not None
        _publish(session, solution, pending, verified or set(), actor)
    if track == CHANGE:
        solution.change_status = None if move.name == "approve" else move.target
    else:
        solution.status = move.target
    if move.name == "suspend" or move.name == "withdraw":
        _client_active(session, solution, False)
    elif move.name == "reinstate":
        _client_active(session, solution, True)
    solution.updated_at = utcnow()
    session.add(solution)
    concerned = pending.id if pending is not None else solution.published_revision_id
    _event(session, solution, concerned, track, move.name, current, move.target, actor, reason)
    return move


def _publish(session: Session, solution: Solution, pending: Revision, verified: set[str], actor: Actor) -> None:
    content = dict(pending.content)
    content["claims"] = {code: {**claim, "status": "verified" if code in verified else "not_verified"}
                         for code, claim in (content.get("claims") or {}).items()}
    pending.content = content
    session.add(pending)
    solution.published_revision_id, solution.pending_revision_id = pending.id, None
    solution.referenced_at = solution.referenced_at or utcnow()
    vendor = session.get(Vendor, solution.vendor_id)
    index(solution, content, vendor.name if vendor else "")
    _ensure_client(session, solution, content, actor)


def index(solution: Solution, content: dict[str, Any], vendor_name: str) -> None:
    """Copy the published content into the solution's search columns (folded: no case, no accents)."""
    claims = content.get("claims") or {}
    solution.name = content["name"]
    solution.name_key = fold(content["name"])[:200]
    solution.category = content["category"]
    solution.professions_key = "|" + "|".join(content["professions"]) + "|"
    solution.regions_key = "|" + "|".join(content["regions"]) + "|"
    solution.conformities_key = "|" + "|".join(code for code, claim in claims.items() if claim.get("status") == "verified") + "|"
    words = [content["name"], vendor_name, CATEGORIES.get(content["category"], ""), content["category"],
             content["description"], *(CONFORMITIES[code][0] for code in claims if code in CONFORMITIES)]
    solution.search_text = fold(" ".join(words))


def _ensure_client(session: Session, solution: Solution, content: dict[str, Any], actor: Actor) -> None:
    """A launchable solution gets its OIDC client on approval; a later approved change updates it."""
    client = oidc_clients.find_client(session, solution.oidc_client_id) if solution.oidc_client_id else None
    if not content.get("launch_url"):
        if client is not None and client.active:
            oidc_clients.set_active(session, client, False)
        return
    jwks = content.get("jwks")
    if client is None:
        try:
            registered = oidc_clients.register_client(
                session, name=content["name"], redirect_uris=content["redirect_uris"],
                token_endpoint_auth_method="private_key_jwt" if jwks else "client_secret_basic", jwks=jwks,
                scope=LAUNCH_SCOPE, client_uri=content.get("website"), owner=f"catalog:{solution.id}",
                created_by=actor.label)
        except oidc_clients.InvalidClient as invalid:
            raise InvalidSubmission({f"client_{k}": v for k, v in invalid.problems.items()}) from None
        solution.oidc_client_id = registered.client.client_id
        return
    client.name, client.redirect_uris, client.client_uri = content["name"], list(content["redirect_uris"]), content.get("website")
    if jwks and client.token_endpoint_auth_method == "private_key_jwt":
        client.jwks = jwks
    client.updated_at = utcnow()
    session.add(client)
    if not client.active and solution.status != Status.SUSPENDED:
        oidc_clients.set_active(session, client, True)


def _client_active(session: Session, solution: Solution, active: bool) -> None:
    client = oidc_clients.find_client(session, solution.oidc_client_id) if solution.oidc_client_id else None
    if client is not None and client.active != active:
        oidc_clients.set_active(session, client, active)


def new_client_secret(session: Session, solution: Solution) -> str:
    """A new secret for the solution's client (the old one stops working); shown once to the vendor."""
    client = oidc_clients.find_client(session, solution.oidc_client_id) if solution.oidc_client_id else None
    if client is None or client.token_endpoint_auth_method != "client_secret_basic":
        raise TransitionRefused("Cette solution n'a pas de client OpenID Connect à secret.")
    if not client.active:
        raise TransitionRefused("Le client OpenID Connect de cette solution est désactivé (solution suspendue ou retirée).")
    return oidc_clients.new_secret(session, client)


def _event(session: Session, solution: Solution, revision_id: int | None, track: str, name: str, source: str,
           target: str, actor: Actor, comment: str | None) -> None:
    session.add(ReviewEvent(solution_id=solution.id, revision_id=revision_id, track=track, transition=name,  # type: ignore[arg-type]
                            from_status=source, to_status=target, actor_id=actor.account_id, actor_label=actor.label[:200],
                            comment=(comment or "").strip()[:2000] or None))


# --- search ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Query:
    text: str = ""
    category: str = ""
    profession: str = ""
    region: str = ""
    conformity: str = ""
    page: int = 1


@dataclass(frozen=True)
class Results:
    solutions: list[Solution]
    total: int
    page: int
    pages: int


def search(session: Session, query: Query) -> Results:
    """Referenced solutions matching every term (accent- and case-insensitive) and every filter, by name."""
    conditions: list[Any] = [Solution.status == Status.REFERENCED]
    for term in terms(query.text):  # folded to [a-z0-9]: nothing for LIKE to interpret
        conditions.append(col(Solution.search_text).contains(term))
    if query.category:
        conditions.append(Solution.category == query.category)
    if query.profession:
        conditions.append(col(Solution.professions_key).contains(f"|{query.profession}|"))
    if query.region:
        conditions.append(or_(col(Solution.regions_key).contains(f"|{query.region}|"), Solution.regions_key == "|FR|"))
    if query.conformity:
        conditions.append(col(Solution.conformities_key).contains(f"|{query.conformity}|"))
    total = session.exec(select(func.count()).select_from(Solution).where(*conditions)).one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, query.page), pages)
    rows = session.exec(select(Solution).where(*conditions).order_by(col(Solution.name_key), col(Solution.id))
                        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return Results(list(rows), total, page, pages)


def published_contents(session: Session, solutions: list[Solution]) -> dict[int, dict[str, Any]]:
    """The published content of each solution, by solution id (one query)."""
    ids = [s.published_revision_id for s in solutions if s.published_revision_id]
    if not ids:
        return {}
    rows = session.exec(select(Revision).where(col(Revision.id).in_(ids))).all()
    return {row.solution_id: row.content for row in rows}


def logos(session: Session, revision_ids: list[int]) -> dict[int, int]:
    """The logo image id of each revision that has one."""
    if not revision_ids:
        return {}
    rows = session.exec(select(Image.revision_id, Image.id).where(col(Image.revision_id).in_(revision_ids),
                                                                  Image.role == "logo")).all()
    return {revision_id: image_id for revision_id, image_id in rows}
