"""What the catalogue's pages share: who is acting, reading forms with their files, template values."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from bouquet.api.web import RequestContext
from bouquet_catalog import evidence, images, referencing, submissions, workflow
from bouquet_catalog.images import CheckedImage
from bouquet_catalog.solutions import Actor
from bouquet_catalog.text import paragraphs
from bouquet_catalog.vocabulary import (
    CATEGORIES,
    CLAIM_STATUSES,
    CONFORMITIES,
    PROFESSIONS,
    REGIONS,
)

BROWSE, SUBMIT, REVIEW = "catalog.browse", "catalog.submit", "catalog.review"
MAX_FIELDS = 120


def require(ctx: RequestContext, action: str) -> None:
    if ctx.account is None:
        raise HTTPException(401, "Connectez-vous pour continuer.")
    if not ctx.can(action):
        raise HTTPException(403, {
            SUBMIT: "Cet espace est réservé aux éditeurs de solutions.",
            REVIEW: "L'instruction des demandes de référencement est réservée à l'opérateur du catalogue.",
        }.get(action, "Vous n'avez pas accès au catalogue."))


def vendor_actor(ctx: RequestContext) -> Actor:
    require(ctx, SUBMIT)
    account = ctx.account
    assert account is not None
    if not account.siren:
        raise HTTPException(403, "Votre compte éditeur n'est rattaché à aucune organisation (SIREN) : contactez l'opérateur.")
    return Actor(account.id, f"{account.display_name} ({account.organisation or 'éditeur'})", workflow.VENDOR)


def operator_actor(ctx: RequestContext) -> Actor:
    require(ctx, REVIEW)
    account = ctx.account
    assert account is not None
    return Actor(account.id, f"{account.display_name} (opérateur du catalogue)", workflow.OPERATOR)


async def form_with_images(request: Request) -> tuple[dict[str, Any], str, list[CheckedImage], dict[str, str]]:
    """The posted vendor form's values, its `action`, its images checked by decoding them, and the errors about those."""
    try:
        form = await request.form(max_files=images.MAX_SCREENSHOTS + 1, max_fields=MAX_FIELDS)
    except Exception:
        raise HTTPException(400, "Le formulaire envoyé n'est pas valide (trop de fichiers ou de champs).") from None
    try:
        checked, errors = await _images_of(form)
        return submissions.from_form(form), str(form.get("action") or ""), checked, errors
    finally:
        await form.close()


async def _images_of(form: FormData) -> tuple[list[CheckedImage], dict[str, str]]:
    checked: list[CheckedImage] = []
    errors: dict[str, str] = {}
    logo = form.get("logo")
    if isinstance(logo, UploadFile) and logo.filename:
        result = images.check("logo", await logo.read(images.MAX_BYTES + 1), "Logo")
        if isinstance(result, str):
            errors["logo"] = result
        else:
            checked.append(result)
    shots = [shot for shot in form.getlist("screenshots") if isinstance(shot, UploadFile) and shot.filename]
    if len(shots) > images.MAX_SCREENSHOTS:
        errors["screenshots"] = f"Captures d'écran : {images.MAX_SCREENSHOTS} au plus."
    for number, shot in enumerate(shots[:images.MAX_SCREENSHOTS], start=1):
        result = images.check("screenshot", await shot.read(images.MAX_BYTES + 1), f"Capture d'écran n° {number}")
        if isinstance(result, str):
            errors.setdefault("screenshots", result)
        else:
            checked.append(result)
    return checked, errors


def page(**values: Any) -> dict[str, Any]:
    """Template values, nested under the plugin's key so that they never clash with the shell's."""
    return {"cat": {"categories": CATEGORIES, "conformities": CONFORMITIES, "professions": PROFESSIONS,
                    "regions": REGIONS, "conformity_labels": {k: v[0] for k, v in CONFORMITIES.items()}, "claim_statuses": CLAIM_STATUSES, "labels": workflow.LABELS,
                    "badges": workflow.BADGES, "paragraphs": paragraphs, "couloirs": referencing.COULOIRS,
                    "software_types": {code: label for code, (label, _) in referencing.SOFTWARE_TYPES.items()},
                    "waves": referencing.WAVES, "evidence_kinds": evidence.KINDS, **values}}


def integer(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
