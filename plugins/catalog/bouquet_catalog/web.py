"""What the catalogue's pages share: who is acting, reading forms with their files, template values."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from bouquet.api.web import Form, RequestContext, read_all
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


# Past any text the vendor form accepts (a description is at most 5,000 characters, a JWKS a few): longer is refused
# by `submissions.validate` with its own message; the request itself is bounded by the portal's body limit.
MAX_TEXT = 100_000


async def vendor_form(request: Request) -> tuple[Form, list[CheckedImage]]:
    """The posted vendor form (its `values` as `submissions.validate` takes them, plus `action`), and its images
    checked by decoding them; the errors about those are already in the form."""
    posted = await read_all(request, lists=("professions", "regions"), max_fields=MAX_FIELDS, max_length=MAX_TEXT,
                            files={"logo": images.MAX_BYTES, "screenshots": images.MAX_BYTES},
                            max_files=images.MAX_SCREENSHOTS + 1)
    form = Form({**submissions.from_form(posted), "action": posted.get("action")})
    return form, _images_of(posted, form)


def _images_of(posted: Form, form: Form) -> list[CheckedImage]:
    checked: list[CheckedImage] = []
    for logo in posted.files["logo"][:1]:
        result = images.check("logo", logo.data, "Logo")
        if isinstance(result, str):
            form.refuse("logo", result)
        else:
            checked.append(result)
    shots = posted.files["screenshots"]
    if len(shots) > images.MAX_SCREENSHOTS:
        form.refuse("screenshots", f"Captures d'écran : {images.MAX_SCREENSHOTS} au plus.")
    for number, shot in enumerate(shots[:images.MAX_SCREENSHOTS], start=1):
        result = images.check("screenshot", shot.data, f"Capture d'écran n° {number}")
        if isinstance(result, str):
            form.refuse("screenshots", result)
        else:
            checked.append(result)
    return checked


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
