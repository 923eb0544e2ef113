"""Body limits: one for every request, enforced while the body streams in (issue 13, item 3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette

from bouquet.testing.asgi import chunks, stream_request
from bouquet.web.limits import human_size

MiB = 1024 * 1024
JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}

pytestmark = pytest.mark.backends("sqlite")  # the limits are the same whatever the database


@pytest.mark.parametrize(("path", "headers"), [("/login/passkey", JSON), ("/token", FORM), ("/login", FORM)])
def test_a_streamed_body_over_the_limit_is_refused_before_it_is_read_whole(app: Starlette, path: str,
                                                                           headers: dict[str, str]) -> None:
    # 150 MB, without Content-Length: the server learns the size only by reading.
    sent = stream_request(app, "POST", path, chunks(64 * 1024, 150 * MiB), headers=headers)
    assert sent.status == 413
    assert sent.json()["error"] == "request_too_large"
    assert "taille autorisée" in sent.json()["message"]
    # The application stopped pulling as soon as the limit was passed: at most one chunk more.
    assert sent.received <= app.state.settings.max_body_bytes + 64 * 1024
    assert not sent.exhausted


@pytest.mark.parametrize(("path", "headers"), [
    ("/login/passkey", JSON), ("/token", FORM), ("/api/launch", JSON), ("/login", FORM),
    ("/p/prevention/cds-services/bouquet-prevention", JSON), ("/p/dmp/fhir/", JSON),
])
def test_a_declared_length_over_the_limit_is_refused_without_reading_anything(app: Starlette, path: str,
                                                                              headers: dict[str, str]) -> None:
    sent = stream_request(app, "POST", path, chunks(64 * 1024, 150 * MiB),
                          headers={**headers, "content-length": str(150 * MiB)})
    assert sent.json()["error"] == "request_too_large"
    assert sent.status == 413
    assert sent.received == 0


def test_a_browser_gets_the_french_page(app: Starlette) -> None:
    sent = stream_request(app, "POST", "/login", chunks(64 * 1024, 3 * MiB),
                          headers={**FORM, "accept": "text/html,application/xhtml+xml"})
    assert sent.status == 413
    assert sent.headers["content-type"].startswith("text/html")
    assert "Envoi trop volumineux" in sent.text
    assert "1 Mio" in sent.text


def test_the_limits_are_settings(make_app: Callable[..., Starlette]) -> None:
    app = make_app(max_body_bytes=16 * 1024)
    refused = stream_request(app, "POST", "/login/passkey", chunks(4096, 20 * 1024), headers=JSON)
    assert refused.status == 413
    assert refused.received <= 16 * 1024 + 4096
    # The second try, within the limit, reaches the endpoint (which answers about its content).
    accepted = stream_request(app, "POST", "/login/passkey", iter([b"{}"]), headers=JSON)
    assert accepted.status != 413


def test_a_route_may_declare_more(client: Any) -> None:
    # The vendor API takes images in base64 (8 MiB): 2 MiB passes the limit and meets the API's own
    # refusal (no token), 9 MiB is refused at once.
    body = b'{"name": "' + b"a" * (2 * MiB) + b'"}'
    assert client.post("/p/catalog/api/solutions", content=body, headers=JSON).status_code == 401
    too_big = client.post("/p/catalog/api/solutions", content=b"a" * (9 * MiB), headers=JSON)
    assert too_big.status_code == 413


def test_uploads_have_the_upload_limit(app: Starlette) -> None:
    multipart = {"content-type": "multipart/form-data; boundary=xyz"}
    within = stream_request(app, "POST", "/login", chunks(64 * 1024, 2 * MiB), headers=multipart)
    assert within.status != 413  # refused for what it is (no CSRF token), not for its size
    over = stream_request(app, "POST", "/login", chunks(64 * 1024, 30 * MiB), headers=multipart)
    assert over.status == 413
    assert over.received <= app.state.settings.max_upload_bytes + 64 * 1024


def test_sizes_read_in_french() -> None:
    assert human_size(1024 * 1024) == "1 Mio"
    assert human_size(1536) == "1,5 Kio"
    assert human_size(900) == "900 octets"
