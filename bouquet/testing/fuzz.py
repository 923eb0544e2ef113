"""Property-based fuzzing of what an outsider can reach: strategies, the properties, and the profiles.

    from bouquet.testing.fuzz import fuzzing, json_values, assert_sound, StateWatch

    @fuzzing
    @given(body=json_values())
    def test_launch(client, body):
        with StateWatch(client.app) as watch:
            response = client.post("/api/launch", json=body, headers=...)
        assert_sound(response, "json")
        if response.status_code >= 400:
            watch.assert_unchanged()

The properties, for every input: no 5xx; a refusal changes nothing (no row added or removed, audit
and sign-in bookkeeping aside); the answer's content type is the one the caller asked for.

Profiles (hypothesis): `bouquet-fuzz`, a short deterministic run in the normal suite (`make test`),
and `bouquet-fuzz-long`, many random examples (`make fuzz`, or `BOUQUET_FUZZ_PROFILE=bouquet-fuzz-long`).
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select
from sqlmodel import SQLModel

SHORT, LONG = "bouquet-fuzz", "bouquet-fuzz-long"
_COMMON: dict[str, Any] = {
    "deadline": None,  # requests go through a database: their time says nothing about correctness
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
}
# The short run (in `make test`) finds and reports; it does not shrink a failure (each example of the
# form fuzzer posts to every form, and shrinking would take many minutes): `make fuzz` shrinks.
settings.register_profile(SHORT, max_examples=int(os.environ.get("BOUQUET_FUZZ_EXAMPLES", "15")), derandomize=True,
                          database=None, phases=(Phase.explicit, Phase.reuse, Phase.generate), **_COMMON)
settings.register_profile(LONG, max_examples=int(os.environ.get("BOUQUET_FUZZ_EXAMPLES", "400")), **_COMMON)
PROFILE = os.environ.get("BOUQUET_FUZZ_PROFILE", SHORT)

#: The decorator of every fuzz test: the profile chosen for this run.
fuzzing = settings(settings.get_profile(PROFILE))

# Bookkeeping that a refusal may write: the audit trail (and its tally of repeated refusals), guess
# counters, sessions and pending sign-ins, replay caches of signed assertions, the provider's lazily
# made signing key, the DMP's access history.
BOOKKEEPING = frozenset({
    "audit_event", "audit_chain", "refusal_tally", "guess_counter", "web_session", "portal_pending_signin",
    "oidc_signing_key", "oidc_assertion_jti", "prevention_cds_jti", "dmp_access_event",
})

# Strings that have broken parsers elsewhere: huge numbers, NUL, surrogates' neighbours, templates, paths.
HOSTILE = [
    "", " ", "0", "-1", "1" * 30, str(2**64), "1e999", "NaN", "null", "true", "[]", "{}", "\x00", "\u202e", "é" * 300,
    "a" * 5000, "../../etc/passwd", "%00", "%", "{{7*7}}", "${jndi:x}", "<script>alert(1)</script>", "' OR 1=1 --",
    "=HYPERLINK(\"https://x\")", "https://evil.example/", "javascript:alert(1)", "\r\nX-Injected: 1",
    "urn:oid:1.2.250.1.213.1.4.8|1", "Bearer", "openid", "\ud7ff", "\U0010ffff",
]


def text() -> st.SearchStrategy[str]:
    """Short arbitrary text, or a known-hostile string."""
    return st.one_of(st.sampled_from(HOSTILE), st.text(max_size=60))


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                     st.floats(allow_nan=False, allow_infinity=False), text())


def json_values(max_leaves: int = 25) -> st.SearchStrategy[Any]:
    """Any JSON document (what `json.dumps` can write), nested a little."""
    return st.recursive(scalars(), lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(text(), inner, max_size=5)), max_leaves=max_leaves)


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> Any:
    """`valid` with keys dropped, replaced by any JSON or added; sometimes the document replaced whole."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values())
    body = dict(valid)
    for key in draw(st.lists(st.sampled_from(sorted(valid) or ["x"]), max_size=3, unique=True)):
        choice = draw(st.integers(0, 2))
        if choice == 0:
            body.pop(key, None)
        elif choice == 1:
            body[key] = draw(json_values(8))
        elif isinstance(body.get(key), dict):
            body[key] = draw(mutated(body[key]))
    body.update(draw(st.dictionaries(text(), scalars(), max_size=2)))
    return body


def form_fields(names: list[str]) -> st.SearchStrategy[dict[str, str]]:
    """A form with some of `names` (and maybe others), each with arbitrary text."""
    return st.dictionaries(st.one_of(st.sampled_from(names), text()), text(), max_size=len(names) + 2)


def query_params(names: list[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Query parameters among `names` (and others), possibly repeated."""
    return st.lists(st.tuples(st.one_of(st.sampled_from(names), text()), text()), max_size=len(names) + 2)


WANTED = {
    "json": ("application/json",),
    "fhir": ("application/fhir+json", "application/json"),
    "html": ("text/html",),
    "oauth": ("application/json",),
}


def assert_sound(response: Any, wants: str, *, what: str = "") -> None:
    """No 5xx, and a body in the content type the caller asked for (`json`, `fhir`, `html`); a redirect
    or an empty answer carries no body to judge."""
    label = what or f"{response.request.method} {response.request.url}"
    assert response.status_code < 500, f"{label} → {response.status_code}: {response.text[:500]}"
    if 300 <= response.status_code < 400 or response.status_code == 204 or not response.content:
        return
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith(WANTED[wants]), f"{label} → {response.status_code} {content_type!r}, wanted {wants}"


class StateWatch:
    """Row counts of every table (bookkeeping aside) before and after a request."""

    def __init__(self, app: Any) -> None:
        self.db = app.state.db
        self.before: dict[str, int] = {}
        self.after: dict[str, int] = {}
        # The tables of this database: SQLModel's metadata is process-wide, and other tests install
        # throw-away plugins whose tables this database never had.
        self.present = set(inspect(self.db.engine).get_table_names())

    def counts(self) -> dict[str, int]:
        tables = [t for name, t in sorted(SQLModel.metadata.tables.items())
                  if name not in BOOKKEEPING and name in self.present]
        with self.db.engine.connect() as connection:  # one round trip: a count of each table
            row = connection.execute(select(*[select(func.count()).select_from(t).scalar_subquery().label(t.name)
                                              for t in tables])).one()
            return dict(zip([t.name for t in tables], row, strict=True))

    def __enter__(self) -> StateWatch:
        self.before = self.counts()
        return self

    def __exit__(self, *exc: object) -> None:
        self.after = self.counts()

    def assert_unchanged(self, what: str = "") -> None:
        changed = {name: (self.before[name], self.after.get(name)) for name in self.before
                   if self.before[name] != self.after.get(name)}
        assert not changed, f"a refusal changed the data{' (' + what + ')' if what else ''}: {changed}"
