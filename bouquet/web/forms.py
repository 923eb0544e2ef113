"""Reading forms, and the one way a refused form comes back: what was typed, and every error at once.

    form = await read_fields(request, "given_name", "family_name")
    if not form.values["given_name"]:
        form.refuse("given_name", "Indiquez le prénom.")
    if form.errors:
        return await render(request, "page.html", form.context(), status_code=400)

Templates show it with the macros of `forms.html` (`{% from "forms.html" import input, select,
textarea, summary %}`), which read `form["values"]` and `form["errors"]`: a `Form` or any dict with
those two keys (the shape every plugin's forms use too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

# Longer than any password, code or username we accept: anything past it is not a person typing.
MAX_FIELD = 1024
INVALID_FORM = "Le formulaire envoyé n'est pas valide. Rechargez la page et recommencez."


class FormErrors(ValueError):
    """Raised by a check that found invalid fields: `errors` maps each field to its French message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass
class Form:
    """What a person typed (`values`, field → text) and what is wrong with it (`errors`, field → French
    message). Every check adds its error instead of stopping at the first: the page says everything at once."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # The files sent, per file field (see `read_all`): never shown again, a refused form asks for them anew.
    files: dict[str, list[UploadedFile]] = field(default_factory=dict)

    def refuse(self, name: str, message: str) -> None:
        """Record the error of a field (the first one found for it is kept)."""
        self.errors.setdefault(name, message)

    def refuse_all(self, problems: dict[str, str]) -> None:
        for name, message in problems.items():
            self.refuse(name, message)

    def get(self, name: str, default: str = "") -> Any:
        """What was typed in `name` (`default` when the field was not sent)."""
        return self.values.get(name, default)

    @property
    def valid(self) -> bool:
        return not self.errors

    def context(self, **extra: Any) -> dict[str, Any]:
        """Template variables: `form`, and `values`/`errors` for templates that read them directly."""
        return {"form": self, "values": self.values, "errors": self.errors, **extra}


async def read_form(request: Request, *names: str) -> dict[str, str]:
    """The named fields of the posted form, as sent ("" when missing).

    Raises HTTPException(400) when a field is a file or longer than `MAX_FIELD`: nothing is done.
    """
    form = await request.form(max_files=0, max_fields=20)
    values: dict[str, str] = {}
    for name in names:
        value = form.get(name, "")
        if isinstance(value, UploadFile) or len(value) > MAX_FIELD:
            raise HTTPException(400, INVALID_FORM)
        values[name] = value
    return values


async def read_fields(request: Request, *names: str, strip: bool = True) -> Form:
    """A `Form` holding the named fields as typed (stripped of surrounding spaces unless `strip=False`)."""
    values = await read_form(request, *names)
    return Form({name: value.strip() if strip else value for name, value in values.items()})


@dataclass
class UploadedFile:
    """A file sent with a form: its name as the browser gave it, and its content read up to the limit plus one
    byte (longer than the limit means too large: say so, never read the rest)."""

    filename: str
    data: bytes


async def read_all(request: Request, *, lists: tuple[str, ...] = (), files: Mapping[str, int] | None = None,
                   max_files: int = 0, max_fields: int = 80, max_length: int = MAX_FIELD) -> Form:
    """A `Form` of every field posted, as typed: for forms whose field names depend on the data (one field per
    role, per step…), with checkboxes, or with files.

    A name posted several times keeps its last value, unless it is one of `lists` (checkboxes, multiple
    selects): those hold the list of every value sent, `[]` when none was. `files` maps each file field to the
    most bytes read of one file; its files land in `form.files[name]` (a file input left empty sends none).
    Raises HTTPException(400) with a French message for more than `max_files` files or `max_fields` fields, an
    unexpected file, or a field longer than `max_length`: nothing is done.
    """
    files = dict(files or {})
    try:
        posted = await request.form(max_files=max_files, max_fields=max_fields)
    except HTTPException as refused:  # Starlette's refusal of too many files or fields, in English
        if refused.status_code != 400:
            raise
        raise HTTPException(400, INVALID_FORM) from None
    try:
        form = Form({name: [] for name in lists}, files={name: [] for name in files})
        for name, value in posted.multi_items():
            if name in files:  # a file input left empty comes as an empty text field, or a file with no name
                if isinstance(value, UploadFile) and value.filename:
                    form.files[name].append(UploadedFile(value.filename, await value.read(files[name] + 1)))
            elif isinstance(value, UploadFile) or len(value) > max_length:
                raise HTTPException(400, INVALID_FORM)
            elif name in lists:
                form.values[name].append(value)
            else:
                form.values[name] = value
        return form
    finally:
        await posted.close()
