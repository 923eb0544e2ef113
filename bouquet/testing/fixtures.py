"""Pytest fixtures for Bouquet and its plugins.

    def test_home(client, make_account):
        doctor = make_account(kind="professional", given_name="Alice")
        client.login(doctor)
        assert "Alice" in client.get("/").text

Every test that uses `database_url` (directly or through `app`, `client`…) runs twice: on SQLite
and on PostgreSQL. `@pytest.mark.backends("sqlite")` narrows that for a test that is about one.
"""

from __future__ import annotations

import itertools
import os
import queue
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bouquet.foundation.settings import Settings
from bouquet.testing.servers import LiveServer, free_port, serve  # noqa: F401  (part of this module's face)
from bouquet.web import csrf
from bouquet.web.sessions import cookie_name, hash_token

TEST_SECRET = "bouquet-test-secret-key-0123456789abcdef"
# The plugins really installed, read when pytest loads this module: plugins that tests install
# on the fly (tests/example_plugin…) must never end up in the shared template databases.
INSTALLED_PLUGINS = sorted({ep.name for ep in entry_points(group="bouquet")})
BACKENDS = ("sqlite", "postgresql")
_counter = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    # Every page sign-in goes through the provider; authlib refuses a plain-http issuer unless it is
    # loopback, and the test client's issuer is http://testserver (live servers run on localhost).
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
    config.addinivalue_line("markers", "backends(*names): run this test only on these database backends")
    config.addinivalue_line("markers", "browser: drives real headless Chromium")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Playwright's sync API keeps an event loop running in the main thread while the browser is
    # open, which stops async tests from starting theirs: run the browser tests last.
    items.sort(key=lambda item: "browser" in getattr(item, "fixturenames", ()) or item.get_closest_marker("browser") is not None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        metafunc.parametrize("db_backend", marker.args if marker else BACKENDS, scope="function")


# --- databases -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """One throw-away PostgreSQL server for the whole run (started on first use)."""
    from bouquet.testing.postgres import ThrowawayPostgres

    with ThrowawayPostgres() as server:
        yield server


class _Templates:
    """Migrated template databases, one per backend, made once per run and copied per test.

    On PostgreSQL a copy (`CREATE DATABASE … TEMPLATE`) takes a few hundred milliseconds of the
    server's time: a background thread keeps a few copies ready while tests run, and drops each
    test's database once the test is over, so neither waits on the other and the server's folder
    stays small."""

    READY = 3  # PostgreSQL copies kept ready ahead of the tests

    def __init__(self, tmp: Path, request: pytest.FixtureRequest) -> None:
        self.tmp, self.request = tmp, request
        self.made: dict[str, str] = {}
        self._ready: queue.Queue[str] = queue.Queue()
        self._dropping: queue.Queue[str] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._stop = threading.Event()
        self._failure: BaseException | None = None
        self._connected = False

    def url_for_test(self, backend: str) -> str:
        template = self.made.get(backend) or self._make(backend)
        self.made[backend] = template
        if backend == "sqlite":
            target = self.tmp / f"t{next(_counter)}.db"
            shutil.copyfile(template, target)
            return f"sqlite:///{target}"
        server = self.request.getfixturevalue("postgres_server")
        if self._worker is None:
            self._worker = threading.Thread(target=self._copy_ahead, args=(server,), daemon=True,
                                            name="bouquet-test-databases")
            self._worker.start()
        while True:
            try:
                return server.url_for(self._ready.get(timeout=1))
            except queue.Empty:
                if self._failure is not None:
                    raise RuntimeError("the test databases could not be copied") from self._failure

    def done_with(self, url: str) -> None:
        """The test that used `url` is over (its engines disposed): drop a PostgreSQL copy."""
        if url.startswith("postgresql"):
            self._dropping.put(url.rsplit("/", 1)[1])

    def close(self) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=30)

    #: How long the copier waits for a server that went away (a test restarting PostgreSQL: test_database_outage).
    RECONNECT_SECONDS = 60

    def _copy_ahead(self, server: Any) -> None:
        import psycopg

        away_since = None
        while not self._stop.is_set():
            try:
                self._copy_ahead_until_stopped(server)
                return
            except psycopg.OperationalError as error:  # the server restarted or stopped: reconnect
                if self._connected:
                    away_since, self._connected = None, False
                away_since = away_since or time.monotonic()
                if time.monotonic() - away_since > self.RECONNECT_SECONDS:
                    self._failure = error
                    return
                self._stop.wait(0.2)
            except Exception as error:  # anything else: the tests say so
                self._failure = error
                return

    def _copy_ahead_until_stopped(self, server: Any) -> None:
        import psycopg

        with psycopg.connect(server.url.replace("+psycopg", "").rsplit("/", 1)[0] + "/postgres",
                             autocommit=True) as connection:
            self._connected = True
            while not self._stop.is_set():
                try:
                    name = self._dropping.get_nowait()
                    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    continue
                except queue.Empty:
                    pass
                if self._ready.qsize() < self.READY:
                    name = f"t{next(_counter)}"
                    connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "bouquet_template"')
                    self._ready.put(name)
                else:
                    self._stop.wait(0.05)

    def _make(self, backend: str) -> str:
        from bouquet.foundation.db import Database
        from bouquet.migrations import upgrade
        from bouquet.plugins import Plugins

        plugins = Plugins(INSTALLED_PLUGINS)
        if backend == "sqlite":
            path = self.tmp / "template.db"
            db = Database(f"sqlite:///{path}")
            upgrade(db.engine, plugins)
            with db.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            db.dispose()
            return str(path)
        server = self.request.getfixturevalue("postgres_server")
        url = server.create_database("bouquet_template")
        db = Database(url)
        upgrade(db.engine, plugins)
        db.dispose()
        return url


@pytest.fixture(scope="session")
def _database_templates(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[_Templates]:
    templates = _Templates(tmp_path_factory.mktemp("databases"), request)
    yield templates
    templates.close()


@pytest.fixture
def db_backend() -> str:
    return "sqlite"


@pytest.fixture
def database_url(db_backend: str, _database_templates: _Templates) -> Iterator[str]:
    """A fresh, migrated database for this test, on `db_backend`."""
    url = _database_templates.url_for_test(db_backend)
    yield url
    _database_templates.done_with(url)


# --- the app ---------------------------------------------------------------------------------

@pytest.fixture
def make_settings(database_url: str) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"database_url": database_url, "base_url": "http://testserver",
                                  "secret_key": TEST_SECRET, "log_json": False}
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def make_app(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Starlette]]:
    """`make_app(plugins="dmp", extra_plugins=[("name", module)], **settings)`."""
    from bouquet.app import create_app

    made: list[Starlette] = []

    def make(*, extra_plugins: list[tuple[str, object]] = (), **overrides: Any) -> Starlette:  # type: ignore[assignment]
        app = create_app(make_settings(**overrides), extra_plugins=extra_plugins)
        made.append(app)
        return app

    yield make
    for app in made:
        app.state.db.dispose()


@pytest.fixture
def app(make_app: Callable[..., Starlette]) -> Starlette:
    return make_app()


def signed_in_session(app: Starlette, account: Any, *, amr: tuple[str, ...] = ("pwd", "otp", "mfa"),
                      acting_for: Any = None) -> Any:
    """A browser session of `account`, signed in to the provider and to the portal, as if it had
    signed in through the pages and come back through `/auth/callback`: the provider session
    (`sid`, `amr`, `authenticated_at`) and the portal session its ID token would give. Returns the
    `BrowserSession`; its `new_token` is the cookie value. A secretary given `acting_for` also gets
    that principal's delegation (the portal checks it on every request)."""
    from bouquet.sso import portal

    state = app.state
    if acting_for is not None and account.kind == "secretary":
        from bouquet.sso.delegation import ensure

        with state.db.write() as session:
            ensure(session, acting_for, account)
    acting_for_id = acting_for.id if acting_for else None
    browser = state.sessions.create(account_id=account.id, amr=list(amr), acting_for_id=acting_for_id)
    browser.set(portal.SESSION_KEY, portal.session_for(account, browser, acting_for_id).to_data())
    state.sessions.save(browser)
    return browser


class BouquetClient(TestClient):
    """A test client that can sign an account in directly and send CSRF tokens."""

    def login(self, account: Any, *, amr: tuple[str, ...] = ("pwd", "otp", "mfa"),
              acting_for: Any = None) -> BouquetClient:
        """Act as `account`, fully signed in (both factors), optionally for a principal: the same
        provider and portal sessions as a sign-in through the pages and `/auth/callback` leaves
        (`signed_in_session`)."""
        browser = signed_in_session(self.app, account, amr=amr, acting_for=acting_for)  # type: ignore[arg-type]
        self._set_session(browser.new_token)
        return self

    def anonymous_session(self) -> BouquetClient:
        """Give this client a session with no account, as a browser gets on its first page."""
        browser = self.app.state.sessions.create()  # type: ignore[attr-defined]
        self._set_session(browser.new_token)
        return self

    def _set_session(self, token: str | None) -> None:
        name = cookie_name(self.app.state.settings.https)  # type: ignore[attr-defined]
        self.cookies.clear()
        self.cookies.set(name, token or "", domain="testserver.local", path="/")

    @property
    def session_token(self) -> str | None:
        return self.cookies.get(cookie_name(self.app.state.settings.https))  # type: ignore[attr-defined]

    @property
    def csrf_token(self) -> str:
        token = self.session_token
        assert token, "no session: call login() or anonymous_session() first, or GET a page"
        return csrf.token_for(self.app.state.csrf_key, hash_token(token))  # type: ignore[attr-defined]

    def submit(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a form the way the browser does, with the session's CSRF token."""
        if self.session_token is None:
            self.anonymous_session()
        return self.post(url, data={**(data or {}), csrf.FIELD: self.csrf_token}, **kwargs)


@pytest.fixture
def client(app: Starlette) -> Iterator[BouquetClient]:
    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def make_account(app: Starlette) -> Callable[..., Any]:
    """`make_account(kind="professional", **fields)` stores and returns an Account."""
    from bouquet.sso.accounts import Account

    def make(kind: str = "professional", **fields: Any) -> Account:
        n = next(_counter)
        values: dict[str, Any] = {"username": f"user{n}", "given_name": f"Prénom{n}", "family_name": f"NOM{n}"}
        if kind == "professional":
            values.update(idnat_ps=_test_idnat(n), profession_code="10", profession_label="Médecin",
                          profession_category="C")
        values.update(fields)
        account = Account(kind=kind, **values)
        with app.state.db.session() as session:
            session.add(account)
        return account

    return make


def _test_idnat(n: int) -> str:
    """A well-formed IdNat_PS: "8" + 11-digit RPPS whose last digit is its Luhn key."""
    from bouquet.sso.accounts import luhn_key

    body = f"1{n:09d}"
    return "8" + body + luhn_key(body)


@pytest.fixture
def install_plugin(tmp_path: Path) -> Iterator[Callable[..., None]]:
    """`install_plugin(dist, version, entry, module, source)` makes a plugin discoverable in the
    `bouquet` entry-point group, as `pip install` would: a `.dist-info` with `entry_points.txt` on
    sys.path, and the plugin's code (in folder `source`) importable."""
    added: list[str] = []

    def install(dist: str, version: str, entry: str, module: str, source: Path) -> None:
        site = tmp_path / f"site-{dist}"
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[bouquet]\n{entry} = {module}\n")
        for path in (str(site), str(source)):
            sys.path.insert(0, path)
            added.append(path)

    yield install
    # Imported modules stay in sys.modules: importing a table class twice would redefine its table.
    for path in added:
        sys.path.remove(path)


# --- live server and browser -----------------------------------------------------------------

@pytest.fixture
def make_live_server(make_app: Callable[..., Starlette]) -> Iterator[Callable[..., LiveServer]]:
    """`make_live_server(**settings)`: the portal served by uvicorn at http://localhost:PORT.

    Several servers made in one test share the test's database, like workers behind a load balancer.
    """
    stops: list[Callable[[], None]] = []

    def make(port: int | None = None, **overrides: Any) -> LiveServer:
        port = port or free_port()
        overrides.setdefault("base_url", f"http://localhost:{port}")
        app = make_app(**overrides)
        stops.append(serve(app, port))
        return LiveServer(f"http://localhost:{port}", app)

    yield make
    for stop in stops:
        stop()


@pytest.fixture
def live_server(make_live_server: Callable[..., LiveServer]) -> LiveServer:
    return make_live_server()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """Playwright's sync API, once per run (it cannot be started twice in one thread)."""
    from playwright.sync_api import sync_playwright

    from bouquet.testing.browser import check_driver

    check_driver()  # a driver that cannot start fails with its own error, not "Connection closed"

    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    """Debian's Chromium, headless, shared by the run; every page records its CSP violations."""
    from bouquet.testing.browser import CspCheckedBrowser, launch_chromium

    chromium = launch_chromium(playwright)
    yield CspCheckedBrowser(chromium)
    chromium.close()


@pytest.fixture(autouse=True)
def _csp_violations_fail_browser_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    """A browser test fails when a page it visited broke the Content-Security-Policy (an inline style…)."""
    # Only tests that drive Chromium (a test module may call another thing of its own `browser`).
    csp = getattr(request.getfixturevalue("browser"), "csp", None) if "browser" in request.fixturenames else None
    if csp is None:
        yield
        return
    csp.take()  # what an earlier test left is that test's
    yield
    csp.assert_none()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh browser context and page pointed at `live_server` (French locale)."""
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


# --- the example practice software -----------------------------------------------------------

@pytest.fixture
def practice_software(live_server: LiveServer) -> Iterator[Any]:
    """The example practice software (`examples/practice_software`) served on its own port and
    registered in `live_server` (see `bouquet.testing.practice_software`)."""
    from bouquet.testing.practice_software import start_practice_software

    software = start_practice_software(live_server.url, live_server.app)
    yield software
    software.stop()
