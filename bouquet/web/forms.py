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

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def refuse(self, name: str, message: str) -> None:
        """Record the error of a field (the first one found for it is kept)."""
        self.errors.setdefault(name, message)

    def refuse_all(self, problems: dict[str, str]) -> None:
        for name, message in problems.items():
            self.refuse(name, message)

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
