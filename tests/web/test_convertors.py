"""Ids in URLs: a number past 64 bits is a page that does not exist (issue 13, item 5)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.routing import BaseRoute, Mount, Route

from bouquet.web.convertors import BoundedIntConvertor

HUGE = str(2**64)  # gave OverflowError (500) in the database driver


def _routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, Route]]:
    for route in routes:
        if isinstance(route, Mount) and route.routes:
            yield from _routes(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path, route


def _id_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path with every `{x:int}` set to HUGE) for every route of the core and the plugins."""
    found = []
    for path, route in _routes(app.router.routes):
        if not any(isinstance(c, BoundedIntConvertor) for c in route.param_convertors.values()):
            continue
        concrete = re.sub(r"\{[a-z_]+:int\}", HUGE, path)
        concrete = re.sub(r"\{[a-z_]+\}", "remove", concrete)  # a non-id parameter (an admin action's name)
        found.append((sorted(route.methods or {"GET"})[0], concrete))
    return found


@pytest.mark.backends("sqlite")
def test_every_int_parameter_is_bounded(app: Any) -> None:
    routes = list(_routes(app.router.routes))
    int_params = [(path, name) for path, route in routes for name in re.findall(r"\{([a-z_]+):int\}", path)]
    assert len(int_params) >= 25, "the core's and the plugins' id routes"
    for path, name in int_params:
        assert isinstance(dict(routes)[path].param_convertors[name], BoundedIntConvertor), path
    # The admin's account pages and a professional's delegations parse ids too.
    paths = {path for path, _ in routes}
    assert "/admin/accounts/{account_id:int}" in paths
    assert "/account/delegations/{delegation_id:int}/revoke" in paths


def test_huge_ids_are_not_found_on_every_route(app: Any, client: Any, make_account: Any) -> None:
    admin = make_account(kind="admin")
    client.login(admin)
    routes = _id_routes(app)
    assert len(routes) >= 25
    for method, path in routes:
        headers = {"X-CSRF-Token": client.csrf_token}
        response = client.request(method, path, headers=headers)
        assert response.status_code == 404, (method, path, response.status_code)
    professional = make_account()
    client.login(professional)
    for method, path in routes:
        response = client.request(method, path, headers={"X-CSRF-Token": client.csrf_token})
        assert response.status_code == 404, (method, path, response.status_code)
    # An id that fits still reaches its page (here: an account that exists, for the admin).
    client.login(admin)
    assert client.get(f"/admin/accounts/{professional.id}").status_code == 200


def test_the_convertor_bounds_both_ways() -> None:
    convertor = BoundedIntConvertor()
    assert re.fullmatch(convertor.regex, "9" * 9) and re.fullmatch(convertor.regex, str(2**31 - 1))
    assert not re.fullmatch(convertor.regex, str(2**31)) and not re.fullmatch(convertor.regex, "9" * 18)
    assert convertor.convert("42") == 42
    assert convertor.to_string(42) == "42"
    with pytest.raises(ValueError):
        convertor.to_string(2**64)


def test_ids_past_an_integer_column_are_not_found_either(client: Any, make_account: Any) -> None:
    # PostgreSQL refuses 2**31 in an INTEGER id ("integer out of range": a 500 the vendor API's fuzzer
    # found); such an id names nothing, so it is a 404 like any other unknown one.
    assert re.fullmatch(BoundedIntConvertor.regex, str(2**31 - 1))
    assert not re.fullmatch(BoundedIntConvertor.regex, str(2**31))
    client.login(make_account(kind="admin"))
    assert client.get(f"/admin/accounts/{2**31}").status_code == 404
    assert client.get(f"/admin/accounts/{2**31 - 1}").status_code == 404  # a valid id of no account
