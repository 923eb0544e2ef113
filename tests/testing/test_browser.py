"""Tests of bouquet.testing.browser against pages served locally with a strict CSP."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser

from bouquet.testing import browser as browser_helpers
from bouquet.testing.browser import (
    add_virtual_authenticator,
    assert_accessible,
    axe_violations,
    launch_chromium,
)

pytestmark = pytest.mark.browser

# The policy the app sends: no inline scripts, no eval.
CSP = "default-src 'self'; script-src 'self'; style-src 'self'"
COPY_SCRIPT = """document.getElementById("styled").style.setProperty("--x", "1px");
document.getElementById("menu").innerHTML = document.getElementById("tools").innerHTML;"""
PAGES = {
    "/good": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Good page</title></head>
<body><main><h1>Welcome</h1><img src="/logo.svg" alt="Bouquet logo"></main></body></html>""",
    "/bad": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bad page</title></head>
<body><main><h1>Welcome</h1><img src="/logo.svg" id="no-alt"></main>
<script>window.inlineScriptRan = true;</script></body></html>""",
    "/styled": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Styled page</title></head>
<body><main><h1 style="color: red">Welcome</h1></main></body></html>""",
    # A script copies an element it styled through CSSOM with innerHTML (what DSFR's header does to its
    # mobile menu): from the vendored DSFR path it is DSFR's, from Bouquet's own script it is ours.
    "/copies-dsfr": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Copy</title></head>
<body><main><h1>Copy</h1><div id="tools"><span id="styled">x</span></div><div id="menu"></div></main>
<script src="/static/vendor/dsfr/dsfr.module.min.js"></script></body></html>""",
    "/copies-ours": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Copy</title></head>
<body><main><h1>Copy</h1><div id="tools"><span id="styled">x</span></div><div id="menu"></div></main>
<script src="/static/bouquet.js"></script></body></html>""",
    "/static/vendor/dsfr/dsfr.module.min.js": COPY_SCRIPT,
    "/static/bouquet.js": COPY_SCRIPT,
    "/logo.svg": """<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>""",
}


class PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = PAGES.get(self.path)
        if body is None:
            self.send_error(404)
            return
        content_type = ("image/svg+xml" if self.path.endswith(".svg") else "text/javascript" if self.path.endswith(".js")
                        else "text/html; charset=utf-8")
        encoded = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def log_message(self, format: str, *args: object) -> None:
        # Keep pytest output quiet; failures show the page state anyway.
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), PageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # "localhost", not the IP: WebAuthn rejects IP addresses as relying-party ids.
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def chromium(browser: Browser) -> Browser:
    """The run's shared Chromium (bouquet.testing's `browser` fixture, started with launch_chromium)."""
    return browser


def test_axe_runs_under_strict_csp_and_finds_missing_alt(chromium, site):
    page = chromium.new_page()
    page.goto(f"{site}/bad")
    # The CSP is enforced (the inline script was blocked), yet axe could be injected.
    assert page.evaluate("() => window.inlineScriptRan") is None

    violations = axe_violations(page)

    assert [v["id"] for v in violations] == ["image-alt"]
    assert violations[0]["impact"] == "critical"
    assert violations[0]["nodes"][0]["target"] == ["#no-alt"]
    with pytest.raises(AssertionError) as failure:
        assert_accessible(page)
    message = str(failure.value)
    assert "image-alt [critical] Images must have alternative text: #no-alt" in message
    assert f"{site}/bad" in message
    page.close()
    # The blocked inline script is a CSP violation this test meant: taken, so that the run's check lets it be.
    assert any("script-src" in line and f"{site}/bad" in line for line in chromium.csp.take())


def test_axe_reports_nothing_on_a_good_page(chromium, site):
    page = chromium.new_page()
    page.goto(f"{site}/good")

    assert axe_violations(page, impacts=("minor", "moderate", "serious", "critical")) == []
    assert_accessible(page)
    # A second run after a navigation injects axe again.
    page.goto(f"{site}/bad")
    assert [v["id"] for v in axe_violations(page)] == ["image-alt"]
    page.close()
    assert chromium.csp.take()  # the inline script of /bad, meant


def test_every_page_records_its_csp_violations_and_the_check_fails_on_them(chromium, site):
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{site}/good")
    assert chromium.csp.take() == []
    chromium.csp.assert_none()

    page.goto(f"{site}/styled")  # an inline style attribute, as the DSFR pages once had
    page.goto(f"{site}/good")    # events reach Python by the next call at the latest
    with pytest.raises(AssertionError) as failure:
        chromium.csp.assert_none()
    message = str(failure.value)
    assert "Content-Security-Policy violation(s)" in message
    assert f"{site}/styled: style-src-attr refused inline" in message
    # The console's own words are kept too, for what no document listener sees.
    assert "(console) Applying inline style violates" in message
    # Reported once: the check then starts afresh.
    chromium.csp.assert_none()
    context.close()


def test_a_style_attribute_dsfr_copies_is_set_aside_one_of_ours_fails(chromium, site):
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{site}/copies-dsfr")
    page.goto(f"{site}/good")
    chromium.csp.assert_none()
    assert any(f"{site}/copies-dsfr: style-src-attr refused" in line for line in chromium.csp.vendor)
    assert any("(console) Applying inline style violates" in line for line in chromium.csp.vendor)

    page.goto(f"{site}/copies-ours")
    page.goto(f"{site}/good")
    with pytest.raises(AssertionError, match="copies-ours: style-src-attr refused inline"):
        chromium.csp.assert_none()
    context.close()


def test_virtual_authenticator_starts_empty_and_stores_a_passkey(chromium, site):
    page = chromium.new_page()
    page.goto(f"{site}/good")
    authenticator = add_virtual_authenticator(page)
    assert authenticator.credentials() == []

    credential_type = page.evaluate(
        """async () => {
            const credential = await navigator.credentials.create({publicKey: {
                challenge: new Uint8Array(32),
                rp: {name: "Bouquet", id: "localhost"},
                user: {id: new Uint8Array([1, 2, 3]), name: "dr.martin", displayName: "Dr Martin"},
                pubKeyCredParams: [{type: "public-key", alg: -7}],
                authenticatorSelection: {residentKey: "required", userVerification: "required"},
            }});
            return credential.type;
        }"""
    )

    assert credential_type == "public-key"
    [stored] = authenticator.credentials()
    assert stored["rpId"] == "localhost"
    assert stored["isResidentCredential"] is True
    authenticator.remove()
    page.close()


def test_missing_chromium_raises_a_clear_error(playwright, monkeypatch, tmp_path):
    monkeypatch.setattr(browser_helpers, "CHROMIUM_PATH", tmp_path / "chromium")
    with pytest.raises(RuntimeError, match=r"Chromium not found at .*: run `make test`"):
        launch_chromium(playwright)
