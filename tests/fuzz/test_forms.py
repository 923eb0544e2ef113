"""Fuzzing every form of the core and of the plugins: each POST route a browser reaches, with a valid
CSRF token and arbitrary fields, signed in as whom the page is for. No 5xx, an HTML answer (or a
redirect), and a refusal changes nothing (issue 13, "Fuzzing, in the suite")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.routing import BaseRoute, Mount, Route

from bouquet.app import create_app
from bouquet.foundation.settings import Settings
from bouquet.testing.fixtures import TEST_SECRET
from bouquet.testing.fuzz import PROFILE, SHORT, StateWatch, assert_sound, form_fields, fuzzing, text

# Endpoints that are not forms: JSON ceremonies and APIs (fuzzed with their own bodies elsewhere).
NOT_FORMS = re.compile(r"webauthn|passkey|/api/|cds-services|/fhir|backchannel-logout|^/(token|introspect|revoke|userinfo|authorize)$")
FIELDS = ["csrf_token", "next", "username", "password", "code", "name", "reason", "status", "version", "note",
          "value", "email", "idnat_ps", "kind", "demo", "matricule", "birth_name", "given_names", "birth_date",
          "sex", "birthplace", "rule", "decision", "principal", "delegate", "scope", "redirect_uris", "category"]


def _routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, Route]]:
    for route in routes:
        if isinstance(route, Mount) and route.routes:
            yield from _routes(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path, route


def _form_routes() -> list[str]:
    app = create_app(Settings(database_url="sqlite://", secret_key=TEST_SECRET, check_migrations=False, log_json=False))
    try:
        return sorted({path for path, route in _routes(app.router.routes)
                       if "POST" in (route.methods or ()) and not NOT_FORMS.search(path)})
    finally:
        app.state.db.dispose()


FORM_ROUTES = _form_routes()
# Each example posts to every form once: the short run makes 3 rounds, `make fuzz` as many as its profile says.
rounds = settings(fuzzing, max_examples=3) if PROFILE == SHORT else settings(fuzzing, max_examples=max(3, fuzzing.max_examples // 10))


def test_the_forms_are_found() -> None:
    assert len(FORM_ROUTES) >= 30
    assert {"/login", "/patient", "/admin/accounts/new", "/p/eparcours/tasks/{task_id:int}/status"} <= set(FORM_ROUTES)


@rounds
@given(data=st.data())
def test_every_form(client: Any, make_account: Any, data: st.DataObject) -> None:
    accounts = {kind: make_account(kind=kind) for kind in ("admin", "vendor", "professional")}
    for template in FORM_ROUTES:
        fields = data.draw(form_fields(FIELDS), label=f"fields of {template}")
        ids = data.draw(st.integers(min_value=0, max_value=5), label="id")
        other = data.draw(text(), label="other path parameter")
        path = re.sub(r"\{[a-z_]+:int\}", str(ids), template)
        path = re.sub(r"\{[a-z_]+\}", quote(other.encode("utf-8", "surrogatepass"), safe="") or "x", path)
        kind = "admin" if path.startswith(("/admin", "/p/catalog/review")) else "vendor" if "/vendor" in path else "professional"
        client.login(accounts[kind])  # a new session each time: a form may end the previous one (logout)
        fields["csrf_token"] = client.csrf_token
        with StateWatch(client.app) as watch:
            response = client.post(path, data=fields, headers={"Accept": "text/html,application/xhtml+xml"})
        assert_sound(response, "html", what=f"POST {path}")
        if response.status_code >= 400:
            watch.assert_unchanged(f"POST {path}")
