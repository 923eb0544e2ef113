"""Reading the sign-in and account forms: text fields only, of bounded length."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

# Longer than any password, code or username we accept: anything past it is not a person typing.
MAX_FIELD = 1024


async def read_form(request: Request, *names: str) -> dict[str, str]:
    """The named fields of the posted form, as sent ("" when missing).

    Raises HTTPException(400) when a field is a file or longer than `MAX_FIELD`: nothing is done.
    """
    form = await request.form(max_files=0, max_fields=20)
    values: dict[str, str] = {}
    for name in names:
        value = form.get(name, "")
        if isinstance(value, UploadFile) or len(value) > MAX_FIELD:
            raise HTTPException(400, "Le formulaire envoyé n'est pas valide. Rechargez la page et recommencez.")
        values[name] = value
    return values
