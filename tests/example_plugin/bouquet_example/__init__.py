"""An example third-party plugin: one of every hook, used by the core's tests."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import click
from sqlmodel import Field, SQLModel
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bouquet import (
    Action,
    Alert,
    Launchable,
    NavEntry,
    Panel,
    Scope,
    get_context,
    hookimpl,
    render,
)
from bouquet.foundation.db import UtcDateTime, utcnow

HERE = Path(__file__).parent
EVENTS: list[str] = []  # lifecycle calls, for the tests to read


class ExampleNote(SQLModel, table=True):
    __tablename__ = "example_note"

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


async def hello(request: Request) -> Response:
    ctx = get_context(request)
    return await render(request, "example/hello.html", {"who": ctx.account.display_name})


async def add_note(request: Request) -> Response:
    """A state-changing form endpoint: audited, CSRF-protected by the core."""
    ctx = get_context(request)
    async with request.form() as form:  # closes uploaded files, if any
        text = str(form.get("text", "")).strip()
    if not text or len(text) > 200:
        return HTMLResponse("<p>Texte invalide</p>", status_code=400)

    def save() -> int:
        with ctx.db.write() as session:
            note = ExampleNote(text=text)
            session.add(note)
            session.flush()
            ctx.audit.write_in(session, "example.note_added", resource=f"example_note/{note.id}")
            return note.id

    note_id = await ctx.db.run(save)
    return HTMLResponse(f"<p>Note {note_id} enregistrée</p>", status_code=201)


async def panel(request: Request) -> Response:
    return HTMLResponse("<p>Panneau de l'exemple</p>")


@hookimpl
def bouquet_routes():
    return [Route("/hello", hello), Route("/notes", add_note, methods=["POST"]), Route("/panel", panel)]


@hookimpl
def bouquet_templates():
    return str(HERE / "templates")


@hookimpl
def bouquet_static():
    return str(HERE / "static")


@hookimpl
def bouquet_models():
    return [ExampleNote]


@hookimpl
def bouquet_migrations():
    return str(HERE / "migrations")


@hookimpl
def bouquet_actions():
    return [Action("example.read", "Lire l'exemple", secretary=True), Action("example.write", "Écrire l'exemple")]


@hookimpl
def bouquet_scopes():
    return [Scope("example.notes", "Lire et écrire les notes de l'exemple")]


@hookimpl
def bouquet_nav(ctx):
    return [NavEntry("Exemple", "/p/example/hello", order=900)]


@hookimpl
def bouquet_patient_panels(ctx):
    return [Panel("Exemple", "/p/example/panel", order=900)]


@hookimpl
async def bouquet_alerts(ctx):
    await asyncio.sleep(0)  # async implementations are awaited
    return [Alert("Alerte de l'exemple", severity="info")]


@hookimpl
def bouquet_home_notices(ctx):
    return [Alert("Message de l'exemple", severity="info", description="Pour le compte connecté.")]


@hookimpl
def bouquet_launchables(ctx):
    return [Launchable("Application exemple", "https://app.example.org/launch")]


@hookimpl
def bouquet_cli(group):
    @group.command(name="example-hello")
    def example_hello() -> None:
        """Say hello from the example plugin."""
        click.echo("Bonjour de l'exemple")


@hookimpl
def bouquet_demo(db):
    with db.session() as session:
        if session.get(ExampleNote, 1) is None:
            session.add(ExampleNote(id=1, text="note de démonstration"))


@hookimpl
def bouquet_session_ended(account_id, sid, reason):
    EVENTS.append(f"session_ended:{account_id}:{reason}")


@hookimpl
def bouquet_startup(app):
    EVENTS.append("startup")


@hookimpl
async def bouquet_shutdown(app):
    EVENTS.append("shutdown")
