"""What every e-parcours page needs: the actor, the catalogue, bounded form reading, template values."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request

from bouquet.api.web import Form, RequestContext, read_all
from bouquet_eparcours import display
from bouquet_eparcours.actors import Actor, actor_of
from bouquet_eparcours.catalogue import Catalogue, catalogue_of
from bouquet_eparcours.regions import EparcoursSettings, Offer, offered_to

# Longer than any value a person types in these forms (a note is at most 2000 characters).
MAX_FIELD = 4000
MAX_FIELDS = 80
PREFIX = "/p/eparcours/"


def actor(ctx: RequestContext) -> Actor:
    """The signed-in actor (the core already refused anonymous requests)."""
    found = actor_of(ctx)
    if found is None:
        raise HTTPException(401, "Connectez-vous pour continuer.")
    return found


async def catalogue(ctx: RequestContext) -> Catalogue:
    """The app's pathway catalogue (loaded off the event loop on first use)."""
    return await run_in_threadpool(catalogue_of, ctx.app_state)


async def offer(ctx: RequestContext) -> Offer:
    """The pathways offered to the professional acting (or the one a secretary acts for), where they practise."""
    found = await catalogue(ctx)
    return offered_to(found, actor(ctx).principal.practice_sites or [], EparcoursSettings().enabled)


async def form_of(request: Request) -> Form:
    """The posted form's text fields, as typed. Raises HTTPException(400) for a file or an oversized field."""
    return await read_all(request, max_fields=MAX_FIELDS, max_length=MAX_FIELD)


def integer(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None  # type: ignore[arg-type]
    except ValueError:
        return None


def day(value: str | None) -> date | None:
    """A date from an `<input type="date">` (YYYY-MM-DD), or None."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def local_next(value: str | None, default: str) -> str:
    """Where to go after a form: only e-parcours pages, never another site."""
    if value and value.startswith(PREFIX) and "//" not in value and "\\" not in value:
        return value
    return default


def page(**values: Any) -> dict[str, Any]:
    """Template values, nested under the plugin's key so that they never clash with the shell's."""
    return {"ep": {"fmt": display, **values}}
