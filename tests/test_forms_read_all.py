"""`read_all`: every field of a form whose names depend on the data, checkboxes as lists, files read within
their limit; anything out of bounds is a 400 with a French message."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bouquet.web.forms import INVALID_FORM, read_all


async def _echo(request: Request) -> JSONResponse:
    form = await read_all(request, lists=("regions",), files={"logo": 8, "shots": 8}, max_files=3, max_fields=10,
                          max_length=20)
    return JSONResponse({"values": form.values, "errors": form.errors,
                         "files": {name: [(f.filename, f.data.decode()) for f in sent] for name, sent in form.files.items()}})


def _client() -> TestClient:
    return TestClient(Starlette(routes=[Route("/", _echo, methods=["POST"])]))


def test_every_field_lists_for_checkboxes_and_files_within_their_limit() -> None:
    response = _client().post("/", data={"member_coordinator": "12", "regions": ["84", "11"], "note": " as typed "},
                              files=[("logo", ("logo.png", b"0123456789", "image/png")), ("shots", ("", b"", "image/png"))])
    assert response.status_code == 200
    body = response.json()
    # Nothing stripped: what was typed comes back as typed; a file input left empty sends no file.
    assert body["values"] == {"regions": ["84", "11"], "member_coordinator": "12", "note": " as typed "}
    # Read up to the limit plus one byte: the caller sees it is too large without reading it all.
    assert body["files"] == {"logo": [["logo.png", "012345678"]], "shots": []}
    assert body["errors"] == {}


def test_a_checkbox_list_is_empty_when_nothing_is_ticked() -> None:
    response = _client().post("/", data={"name": "x"})
    assert response.json()["values"] == {"regions": [], "name": "x"}


def test_out_of_bounds_forms_are_refused_in_french() -> None:
    client = _client()
    too_long = client.post("/", data={"note": "x" * 21})
    unexpected_file = client.post("/", data={"name": "x"}, files=[("note", ("a.txt", b"a", "text/plain"))])
    too_many_files = client.post("/", files=[("shots", (f"{n}.png", b"a", "image/png")) for n in range(4)])
    too_many_fields = client.post("/", data={f"field_{n}": "x" for n in range(11)})
    for response in (too_long, unexpected_file, too_many_files, too_many_fields):
        assert response.status_code == 400 and response.text == INVALID_FORM, response.text
