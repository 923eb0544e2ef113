"""One form mechanism: what was typed comes back with every error at once, on every form of the portal.

The crawl signs in as each kind of account, opens a patient, follows every link and htmx fragment of the
portal (the core's pages and every installed plugin's), and submits every form it finds with something
typed in each field but one left empty. A form that refuses must show again everything that was typed
(except passwords, never sent back).
"""

from __future__ import annotations

import asyncio
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from markupsafe import escape

from bouquet.web.forms import Form, FormErrors

# Never followed: they end the session the crawl runs in, or leave the portal.
NOT_FOLLOWED = ("/logout", "/static/", "/-/", "/metrics", "/healthz", "/readyz", "/authorize", "/end_session",
                "/fhir", "/.well-known")
MAX_PAGES = 120
MARKER = "Saisie{n} «typée»"


class _Page(HTMLParser):
    """The links and the POST forms of a page (fields: name → type, plus select options)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if a.get("hx-get"):
            self.links.append(a["hx-get"])
        if tag == "form":
            self._form = {"action": a.get("action", ""), "fields": {}, "hidden": {},
                          "post": a.get("method", "get").lower() == "post"}
            self.forms.append(self._form)
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind == "hidden":
                self._form["hidden"][name] = a.get("value", "")
            elif kind in {"text", "email", "tel", "search", "url", "number", "date", "password"} and "readonly" not in a:
                self._form["fields"][name] = kind
        elif tag == "textarea" and name and "readonly" not in a:
            self._form["fields"][name] = "textarea"
        elif tag == "select" and name:
            self._select = name
            self._form["hidden"][name] = ""
        elif tag == "option" and self._select and ("selected" in a or (
                not self._form["post"] and not self._form["hidden"][self._select])):
            # A search or choice form (GET) is followed with its first real choice.
            self._form["hidden"][self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            if not self._form["post"]:
                self.forms.remove(self._form)
                if self._form["hidden"] and all(self._form["hidden"].values()):
                    self.links.append(self._form["action"] + "?" + urlencode(self._form["hidden"]))
            self._form = None
        elif tag == "select":
            self._select = None


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _followed(base: str, href: str) -> str | None:
    url = urljoin(base, href)
    parts = urlsplit(url)
    if parts.netloc not in {"", "testserver.local"} or parts.scheme not in {"", "http"}:
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return None if any(path.startswith(prefix) for prefix in NOT_FOLLOWED) else path


def crawl(client, start: list[str]) -> dict[tuple[str, tuple[str, ...]], dict]:
    """Every POST form reachable from `start` by links and htmx fragments, one per (action, fields)."""
    seen, queue, forms = set(), list(start), {}
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url, headers={"accept": "text/html"})
        if response.status_code != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue
        page = _parse(response.text)
        for form in page.forms:
            action = urljoin(url, form["action"] or url)
            if form["fields"] and not any(action.startswith(p) for p in ("/logout",)):
                forms.setdefault((action, tuple(sorted(form["fields"]))), {**form, "action": action, "page": url})
        for href in page.links:
            if (target := _followed(url, href)) and target not in seen:
                queue.append(target)
    return forms


def refill_problems(client, form: dict) -> tuple[str, list[str]]:
    """Submit the form with every field typed but the last one; ("accepted"|"refused", fields lost)."""
    names = list(form["fields"])
    typed = {name: MARKER.format(n=index) for index, name in enumerate(names[:-1])}
    data = {**form["hidden"], **typed, names[-1]: ""}
    data.pop("csrf_token", None)
    response = client.submit(form["action"], data, headers={"accept": "text/html"})
    if response.status_code in {301, 302, 303, 307} or response.status_code >= 500:
        return ("accepted" if response.status_code < 500 else f"error {response.status_code}"), []
    shown = response.text
    lost = [name for name, value in typed.items()
            if form["fields"][name] != "password" and str(escape(value)) not in shown and value not in shown]
    return "refused", lost


# --- the mechanism ------------------------------------------------------------------------------

def _render(app, source: str, **values) -> str:
    return asyncio.run(app.state.templates.from_string(source).render_async(**values))


def test_the_macros_show_values_and_errors_from_a_form_or_a_plain_dict(app):
    form = Form({"given_name": "Zoé « ♥ »", "kind": "b"}, {"given_name": "Trop long."})
    source = ('{% from "forms.html" import input, select, summary %}{{ summary(f) }}'
              '{{ input(f, "given_name", "Prénom") }}{{ select(f, "kind", "Type", {"a": "A", "b": "B"}) }}')
    # A dict's `values` is a method: the macros read form["values"], so both shapes work.
    for shape in (form, {"values": form.values, "errors": form.errors}):
        html = _render(app, source, f=shape)
        assert 'value="Zoé « ♥ »"' in html and 'aria-invalid="true"' in html
        assert 'id="given_name-error">Trop long.' in html and '<option value="b" selected>' in html
        assert 'href="#given_name"' in html


def test_the_macros_prefix_ids_never_echo_files_and_choose_numbers(app):
    """Two forms of a page may share a field name (`id_prefix`); a file input never shows a value; a select's
    chosen value may be a number (an id)."""
    form = {"values": {"note": "typée", "document": "C:\\secret.pdf", "owner": 7}, "errors": {"note": "Trop longue."}}
    html = _render(app, '{% from "forms.html" import input, select, textarea, summary %}'
                        '{{ summary(f, id_prefix="done-") }}{{ textarea(f, "note", "Note", id_prefix="done-") }}'
                        '{{ input(f, "document", "Fichier", type="file", accept="application/pdf", multiple=True) }}'
                        '{{ select(f, "owner", "Attribuer à", [(7, "Léa"), (8, "Paul")]) }}', f=form)
    assert 'for="done-note"' in html and 'id="done-note" name="note"' in html and 'href="#done-note"' in html
    assert 'aria-describedby="done-note-error"' in html and 'id="done-note-error">Trop longue.' in html
    assert 'type="file" id="document" name="document" accept="application/pdf" multiple' in html
    assert "secret" not in html and 'maxlength="200"' not in html
    assert '<option value="7" selected>' in html


def test_form_errors_collect_every_field_and_keep_the_first_message():
    form = Form({"a": "1"})
    form.refuse("a", "first")
    form.refuse("a", "second")
    form.refuse_all(FormErrors({"b": "other"}).errors)
    assert form.errors == {"a": "first", "b": "other"} and not form.valid


# --- every form of the portal --------------------------------------------------------------------

def _walk_every_form(app, make_account) -> tuple[dict, dict]:
    """Sign in as each kind of account, crawl, submit every form: (outcome per form, fields lost per form)."""
    from bouquet.patient.demo import DEMO_PATIENTS
    from bouquet.testing.fixtures import BouquetClient

    people = {
        "admin": make_account(kind="admin", username="admin"),
        "professional": make_account(username="dr.crawl", specialty_label="Médecine générale"),
        "vendor": make_account(kind="vendor", username="editeur", organisation="Éditions", siren="732829320"),
        "secretary": make_account(kind="secretary", username="sec.crawl"),
    }
    outcomes, lost_by_form = {}, {}
    for who, account in people.items():
        with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as client:
            client.login(account)
            start = ["/", "/account", "/patient/open"]
            if who == "professional":
                client.submit("/patient", {"demo": DEMO_PATIENTS[0].ins.matricule})
                start.insert(0, "/patient")
            for (action, fields), form in crawl(client, start).items():
                outcome, lost = refill_problems(client, form)
                outcomes[(who, action, fields)] = outcome
                if lost:
                    lost_by_form[(who, action)] = f"{lost} (form of {form['page']})"
    return outcomes, lost_by_form


def _assert_kept(outcomes: dict, lost_by_form: dict, of_plugins: bool) -> set[str]:
    def ours(action: str) -> bool:
        return action.startswith("/p/") == of_plugins

    lost = {key: fields for key, fields in lost_by_form.items() if ours(key[1])}
    assert not lost, f"forms that lose what was typed after a refusal: {lost}"
    errors = {key: outcome for key, outcome in outcomes.items() if ours(key[1]) and outcome.startswith("error")}
    assert not errors, errors
    return {action for (_who, action, _fields), outcome in outcomes.items() if ours(action) and outcome == "refused"}


@pytest.mark.backends("sqlite")
def test_every_form_of_the_core_keeps_what_was_typed_after_a_refusal(app, make_account):
    refused = _assert_kept(*_walk_every_form(app, make_account), of_plugins=False)
    # The crawl really reached the forms people type into.
    assert {"/admin/accounts/new", "/admin/clients/new", "/account/password", "/patient"} <= refused, sorted(refused)


@pytest.mark.backends("sqlite")
def test_every_form_of_every_plugin_keeps_what_was_typed_after_a_refusal(app, make_account):
    """The same walk over the installed plugins' forms (catalogue, e-parcours, DMP, prevention)."""
    refused = _assert_kept(*_walk_every_form(app, make_account), of_plugins=True)
    assert {"/p/catalog/vendor/solutions", "/p/eparcours/plans", "/p/dmp/upload"} <= refused, sorted(refused)
