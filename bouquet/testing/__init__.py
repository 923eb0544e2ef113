"""Test support for Bouquet and its plugins, loaded as a pytest plugin (`pytest11` entry point).

Fixtures (see `bouquet.testing.fixtures`): `db_backend` (every test that touches the database runs
on SQLite and on a throw-away PostgreSQL server), `settings`, `make_app`, `app`, `client` (an HTTP
client that can act as a signed-in account), `make_account`, `live_server` (uvicorn on localhost),
`browser` and `page` (Debian's Chromium through Playwright, with `assert_accessible`).
"""
