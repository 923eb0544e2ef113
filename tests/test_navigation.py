"""The menu marks one entry as the current page: the most specific one."""

from __future__ import annotations

import re


def _current(html: str) -> list[str]:
    return re.findall(r'<a class="fr-nav__link" href="([^"]+)" aria-current="page"', html)


def test_one_menu_entry_is_current_the_most_specific(client, make_account):
    vendor = make_account(kind="vendor", username="editeur", organisation="Éditions", siren="732829320")
    client.login(vendor)
    assert _current(client.get("/p/catalog/vendor").text) == ["/p/catalog/vendor"]
    assert _current(client.get("/p/catalog/").text) == ["/p/catalog/"]
    assert _current(client.get("/").text) == ["/"]
