"""The accounts feature is a built-in plugin: always loaded, hidden from /-/plugins unless ?all=1."""

from __future__ import annotations

from bouquet.plugins import Plugins


def test_the_builtin_plugin_is_registered_whatever_the_setting() -> None:
    for names in (None, []):
        info = Plugins(names).info["bouquet.sso.plugin"]
        assert info.builtin and info.load_error is None
        assert {"bouquet_cli", "bouquet_demo", "bouquet_nav"} <= set(info.hooks)


def test_builtin_plugins_are_listed_only_on_request(make_app) -> None:  # noqa: ANN001
    from starlette.testclient import TestClient

    with TestClient(make_app(plugins="")) as client:
        assert client.get("/-/plugins.json").json() == []
        everything = client.get("/-/plugins.json", params={"all": "1"}).json()
        page = client.get("/-/plugins", params={"all": "1"}).text
    assert "bouquet.sso.plugin" in [p["name"] for p in everything] and all(p["builtin"] for p in everything)
    assert "bouquet.sso.plugin" in page


def test_menu_entries_follow_the_account_kind(client, make_account) -> None:
    assert 'href="/admin/accounts"' in client.login(make_account(kind="admin")).get("/").text
    doctor_home = client.login(make_account()).get("/").text
    assert 'href="/account/delegations"' in doctor_home and 'href="/admin/accounts"' not in doctor_home
    vendor_home = client.login(make_account(kind="vendor")).get("/").text
    assert 'href="/account/delegations"' not in vendor_home
    secretary_page = client.login(make_account(kind="secretary")).get("/acting-for").text
    assert "Choisir un professionnel" in secretary_page
