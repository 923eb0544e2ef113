"""Browser helpers for end-to-end tests: Debian's Chromium through Playwright (sync API).

- ``launch_chromium``: the system Chromium, headless, with flags that work as root and offline.
  Playwright's own browser downloads are never used.
- ``add_virtual_authenticator``: a CDP virtual FIDO2 authenticator (a passkey with user
  verification) attached to one page, for WebAuthn sign-in and enrolment tests.
- ``axe_violations`` / ``assert_accessible``: run the vendored axe-core in the page.
- ``CspCheckedBrowser`` / ``CspViolations``: every page of every context the tests open records the
  Content-Security-Policy violations it causes (an inline ``style=``, an inline script…); the ``browser``
  fixture fails the test that caused any.

WebAuthn refuses IP addresses as relying-party ids: open the app under test as
``http://localhost:PORT``, not ``http://127.0.0.1:PORT`` (both count as secure contexts).
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import playwright as playwright_package
from urllib.parse import urlsplit
from playwright.sync_api import Browser, BrowserContext, CDPSession, ConsoleMessage, Page, Playwright

__all__ = [
    "CHROMIUM_ARGS",
    "CHROMIUM_PATH",
    "CspCheckedBrowser",
    "CspViolations",
    "VirtualAuthenticator",
    "add_virtual_authenticator",
    "assert_accessible",
    "axe_violations",
    "check_driver",
    "launch_chromium",
    "screenshot",
]

CHROMIUM_PATH = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    # Root (and most containers) cannot use Chromium's user-namespace sandbox.
    "--no-sandbox",
    "--disable-gpu",
    # Keep the browser off the network: only the app under test on loopback is reachable.
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Docker gives /dev/shm 64 MB, too small for Chromium; /tmp is used instead.
    "--disable-dev-shm-usage",
)
AXE_PATH = Path(__file__).parent / "vendor" / "axe.min.js"
# Where journey tests keep a screenshot of each step (kept by CI as artefacts): BOUQUET_SCREENSHOTS, or
# var/screenshots/ under the directory the tests run from.
SCREENSHOTS_ENV = "BOUQUET_SCREENSHOTS"
# How many failing elements of one rule the assertion message shows.
TARGETS_SHOWN = 3


def driver_node() -> Path:
    """The Node.js executable Playwright's driver runs on (its own, unless PLAYWRIGHT_NODEJS_PATH says otherwise)."""
    configured = os.environ.get("PLAYWRIGHT_NODEJS_PATH")
    return Path(configured) if configured else Path(playwright_package.__file__).parent / "driver" / "node"


def driver_cli() -> Path:
    """The script Playwright's driver runs (``driver/package/cli.js``)."""
    return Path(playwright_package.__file__).parent / "driver" / "package" / "cli.js"


def check_driver(node: Path | None = None, cli: Path | None = None) -> None:
    """Raise ``RuntimeError`` with the driver's own error when it cannot start.

    Runs ``node cli.js --version``, the driver as Playwright starts it, which otherwise only says
    "Connection closed while reading from the driver" (for instance on a minimal Debian 12 without
    libatomic1, which its Node.js links against, or with a driver package that is incomplete).
    """
    node = node or driver_node()
    command = [str(node), str(cli or driver_cli()), "--version"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except OSError as error:
        raise RuntimeError(f"Playwright's driver cannot start: {node}: {error}") from error
    if result.returncode != 0:
        said = (result.stderr or result.stdout).strip()
        hint = (" Install libatomic1: run scripts/install-system-deps as root (or `make test`)."
                if "libatomic" in said else "")
        raise RuntimeError(f"Playwright's driver cannot start: `{' '.join(command)}` exited with status "
                           f"{result.returncode}: {said}.{hint}")


def screenshot(page: Page, journey: str, step: str) -> Path:
    """Save the whole page as ``<screenshots>/<journey>/<step>.png`` and return the file.

    ``<screenshots>`` is ``$BOUQUET_SCREENSHOTS`` or ``var/screenshots``; number the steps
    (``"03-invitation"``) so that a journey reads in order.
    """
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or Path("var") / "screenshots") / journey
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{step}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def launch_chromium(playwright: Playwright, **launch_options: Any) -> Browser:
    """Launch the system Chromium (``/usr/bin/chromium``), headless, with ``CHROMIUM_ARGS``.

    Extra keyword arguments go to ``playwright.chromium.launch`` (e.g. ``slow_mo=250``;
    ``headless=False`` to watch, which needs a display). Raises ``RuntimeError`` naming
    the fix when Chromium is not installed: tests needing a browser fail, they never skip.
    """
    if not CHROMIUM_PATH.is_file():
        raise RuntimeError(
            f"Chromium not found at {CHROMIUM_PATH}: run `make test` "
            "(installs Debian's chromium via scripts/install-system-deps)"
        )
    options: dict[str, Any] = {"headless": True, **launch_options}
    options["args"] = [*CHROMIUM_ARGS, *options.get("args", ())]
    return playwright.chromium.launch(executable_path=str(CHROMIUM_PATH), **options)


@dataclass
class VirtualAuthenticator:
    """A virtual authenticator attached to one page, and the CDP session that controls it.

    ``cdp`` stays usable for any other ``WebAuthn.*`` command, e.g.
    ``cdp.send("WebAuthn.setUserVerified", {...})``; pass ``authenticator_id`` along.
    """

    cdp: CDPSession
    authenticator_id: str

    def credentials(self) -> list[dict[str, Any]]:
        """Return the credentials stored in the authenticator (``WebAuthn.getCredentials``).

        Each is a dict with ``credentialId``, ``isResidentCredential``, ``rpId``,
        ``userHandle``, ``privateKey`` (base64) and ``signCount``.
        """
        result = self.cdp.send(
            "WebAuthn.getCredentials", {"authenticatorId": self.authenticator_id}
        )
        return result["credentials"]

    def set_user_verified(self, verified: bool) -> None:
        """Make later ceremonies succeed (True) or fail (False) user verification."""
        self.cdp.send(
            "WebAuthn.setUserVerified",
            {"authenticatorId": self.authenticator_id, "isUserVerified": verified},
        )

    def remove(self) -> None:
        """Detach the authenticator: the page then sees no authenticator at all."""
        self.cdp.send(
            "WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.authenticator_id}
        )


def add_virtual_authenticator(page: Page) -> VirtualAuthenticator:
    """Attach a platform passkey authenticator to ``page`` and return its handle.

    The authenticator speaks CTAP2 over the ``internal`` transport, stores resident keys
    (discoverable credentials), performs user verification and succeeds at it, and
    answers presence checks on its own, so ``navigator.credentials.create()``/``get()``
    complete without any prompt. It starts with no credentials.
    """
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    result = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return VirtualAuthenticator(cdp=cdp, authenticator_id=result["authenticatorId"])


@functools.cache
def _axe_source() -> str:
    return AXE_PATH.read_text(encoding="utf-8")


def axe_violations(
    page: Page,
    impacts: Iterable[str] = ("serious", "critical"),
    options: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Run axe-core on the page's current document and return its violations of ``impacts``.

    Each violation is axe's own dict: ``id`` (the rule), ``impact``, ``help``, ``helpUrl``,
    ``description`` and ``nodes`` (each with ``target`` selectors, ``html`` and
    ``failureSummary``). ``impacts`` is any of "minor", "moderate", "serious", "critical".
    ``options`` goes to ``axe.run`` as is, e.g. ``{"rules": {"color-contrast": {"enabled":
    False}}}``. axe is injected through ``page.evaluate``, which the page's
    Content-Security-Policy does not restrict, so pages without ``'unsafe-inline'`` work.
    """
    wanted = list(impacts)
    # A navigation drops window.axe; inject again only when it is missing.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    return page.evaluate(
        """async ([wanted, options]) => {
            const results = await window.axe.run(
                document, {...options, resultTypes: ["violations"]});
            return results.violations.filter((violation) => wanted.includes(violation.impact));
        }""",
        [wanted, dict(options or {})],
    )


def assert_accessible(
    page: Page,
    impacts: Iterable[str] = ("serious", "critical"),
    options: Mapping[str, Any] | None = None,
) -> None:
    """Raise ``AssertionError`` listing every axe violation of ``impacts`` on the page.

    The message gives, per rule: its id, impact, help text, the first few target
    selectors and the rule's documentation URL. Arguments are those of ``axe_violations``.
    """
    wanted = tuple(impacts)
    violations = axe_violations(page, wanted, options)
    if not violations:
        return
    lines = [
        f"{len(violations)} accessibility rule(s) violated ({'/'.join(wanted)}) on {page.url}:"
    ]
    for violation in violations:
        targets = [" >> ".join(map(str, node["target"])) for node in violation["nodes"]]
        shown = ", ".join(targets[:TARGETS_SHOWN])
        more = f" (+{len(targets) - TARGETS_SHOWN} more)" if len(targets) > TARGETS_SHOWN else ""
        lines.append(
            f"- {violation['id']} [{violation['impact']}] {violation['help']}: {shown}{more}\n"
            f"  {violation['helpUrl']}"
        )
    raise AssertionError("\n".join(lines))


# Called from each document by the listener below; a CDP binding, which no page's CSP can block.
_CSP_BINDING = "__bouquetCspViolation"
# Added to every document before its own scripts run (an init script is not subject to the page's CSP).
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.%s({
    document: event.documentURI, directive: event.effectiveDirective, blocked: event.blockedURI,
    sample: event.sample, source: event.sourceFile, line: event.lineNumber,
  });
}, true);
""" % _CSP_BINDING


class CspViolations:
    """The Content-Security-Policy violations of the contexts it watches, in the order they happened.

    Two witnesses: the ``securitypolicyviolation`` event of each document (what was blocked, which
    directive, where) and Chromium's console error ("Applying inline style violates…"), which also
    covers what no document listener sees.
    """

    #: The vendored design system's script. DSFR's header copies the header's tools links into the mobile
    #: menu with ``innerHTML`` when it starts; now and then (seen under load, never reproduced alone) what it
    #: copies carries a ``style`` attribute that DSFR itself had set through CSSOM, and Chromium refuses it
    #: (``style-src-attr``). Nothing of Bouquet's is involved and nothing visible is lost (the mobile menu is a
    #: copy), so such refusals are kept in ``vendor`` instead of failing the test; any other violation —
    #: an inline ``style=`` in a template, a style set by Bouquet's own scripts — still fails it.
    VENDOR_SCRIPT = "/static/vendor/dsfr/dsfr.module.min.js"

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.vendor: list[str] = []

    def _by_vendor(self, directive: str | None, source: str | None) -> bool:
        return directive == "style-src-attr" and bool(source) and urlsplit(source).path == self.VENDOR_SCRIPT

    def watch(self, context: BrowserContext) -> BrowserContext:
        """Record the violations of every page of ``context``, present and future; return it."""
        context.expose_binding(_CSP_BINDING, self._record_event)
        context.add_init_script(script=_CSP_LISTENER)
        context.on("console", self._record_console)
        return context

    def _record_event(self, source: Any, event: Mapping[str, Any]) -> None:
        where = event.get("source") or event.get("document")
        line = f":{event['line']}" if event.get("line") else ""
        sample = f" « {event['sample']} »" if event.get("sample") else ""
        said = f"{event.get('document')}: {event.get('directive')} refused {event.get('blocked') or '?'}{sample} ({where}{line})"
        (self.vendor if self._by_vendor(event.get("directive"), event.get("source")) else self.violations).append(said)

    def _record_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            said = f"{message.page.url if message.page else '?'}: (console) {message.text}"
            style_attr = message.text.startswith("Applying inline style violates")
            by_vendor = style_attr and self._by_vendor("style-src-attr", (message.location or {}).get("url"))
            (self.vendor if by_vendor else self.violations).append(said)

    def take(self) -> list[str]:
        """The violations recorded so far, forgotten once returned."""
        taken, self.violations = self.violations, []
        return taken

    def assert_none(self) -> None:
        """Raise ``AssertionError`` listing every violation recorded since the last ``take``."""
        taken = self.take()
        if taken:
            raise AssertionError(f"{len(taken)} Content-Security-Policy violation(s) in the browser:\n"
                                 + "\n".join(f"- {line}" for line in dict.fromkeys(taken)))


class CspCheckedBrowser:
    """A ``Browser`` whose contexts (``new_context``, ``new_page``) record their CSP violations in ``csp``.

    Anything else is the wrapped browser's own attribute.
    """

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.csp = CspViolations()

    def new_context(self, **options: Any) -> BrowserContext:
        return self.csp.watch(self.browser.new_context(**options))

    def new_page(self, **options: Any) -> Page:
        # The page starts on about:blank: watching its context now covers its every navigation.
        page = self.browser.new_page(**options)
        self.csp.watch(page.context)
        return page

    def __getattr__(self, name: str) -> Any:
        return getattr(self.browser, name)
