"""`ContextMiddleware` loads the session, account and patient only for routes that read them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

METRICS_TOKEN = "metrics-scraper-token-0123456789abcdef"


@contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """Every SQL statement the app runs inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(app.state.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(app.state.db.engine, "before_cursor_execute", record)


def _session_reads(seen: list[str]) -> list[str]:
    return [s for s in seen if "web_session" in s or "FROM account" in s or "patient_context" in s]


def test_sessionless_routes_load_no_session_even_with_a_cookie(make_app, make_account):
    from bouquet.testing.fixtures import BouquetClient

    app = make_app(metrics_token=METRICS_TOKEN)
    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as client:
        client.login(make_account())
        client.get("/")  # a page: loads the session (and warms what is loaded once)
        with statements(app) as seen:
            assert client.get("/healthz").status_code == 200
            assert client.get("/static/bouquet.css").status_code == 200
            assert client.get("/.well-known/openid-configuration").status_code == 200
            assert client.post("/token", data={"grant_type": "authorization_code"}).status_code in (400, 401)
            assert client.get("/userinfo").status_code == 401
            assert client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200
        assert _session_reads(seen) == []
        # A page still reads the session, its account and the patients of the session.
        with statements(app) as seen:
            assert client.get("/").status_code == 200
        assert any("web_session" in s for s in seen) and any("FROM account" in s for s in seen)


def test_metrics_load_the_session_only_when_no_scraper_token_is_shown(client, make_account):
    """/metrics is sessionless, but an administrator's browser still reaches it (the context is
    loaded on demand), and a professional's is still refused."""
    client.login(make_account())
    with statements(client.app) as seen:
        assert client.get("/metrics").status_code == 403
    assert any("web_session" in s for s in seen)
    client.login(make_account("admin"))
    assert "bouquet_http_requests_total" in client.get("/metrics").text


def test_a_sessionless_route_does_not_touch_or_rewrite_the_session(client, make_account):
    """No "last seen" update and no new cookie from a sessionless route; the session lives on."""
    client.login(make_account())
    token = client.session_token
    with statements(client.app) as seen:
        response = client.get("/healthz")
    assert "set-cookie" not in response.headers
    assert not [s for s in seen if s.lstrip().upper().startswith("UPDATE")]
    assert client.session_token == token
    assert client.get("/").status_code == 200


def test_a_form_posted_to_a_sessionless_route_outside_the_exempt_list_is_still_refused(client, make_account):
    """CSRF fails closed: a route that loads no session has no token to compare with."""
    client.login(make_account())
    refused = client.post("/healthz", data={"x": "1"})
    assert refused.status_code == 403
