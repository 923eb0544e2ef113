"""Web addresses from others, checked strictly, and CSP built from parsed origins (issue 13, item 6)."""

from __future__ import annotations

import pytest

from bouquet.sso.oidc.clients import uri_problem
from bouquet.sso.oidc.consent import leaving_to
from bouquet.web.headers import CSP
from bouquet.web.origins import UrlProblem, check_web_url, csp_leaving_to


@pytest.mark.parametrize(("url", "origin"), [
    ("https://app.example/launch", "https://app.example"),
    ("https://App.Example:8443/x?a=1&b=2", "https://app.example:8443"),
    ("http://localhost:5000/cb", "http://localhost:5000"),
    ("https://192.0.2.7/", "https://192.0.2.7"),
    ("https://[2001:db8::1]:8443/", "https://[2001:db8::1]:8443"),
    ("https://médicab.example/cb", "https://xn--mdicab-bva.example"),
])
def test_a_web_address_gives_its_origin(url: str, origin: str) -> None:
    assert check_web_url(url) == origin


@pytest.mark.parametrize(("url", "words"), [
    ("https://evil.example;script-src *", "caractères interdits"),
    ("https://evil.example script-src", "caractères interdits"),
    ("https://evil.example'/", "caractères interdits"),
    ('https://evil.example"/', "caractères interdits"),
    ("https://evil.example,x/", "caractères interdits"),
    ("https://evil.example/\r\nSet-Cookie:x", "caractères interdits"),
    ("https://user:secret@app.example/", "identifiant"),
    ("http://app.example/", "https"),
    ("javascript:alert(1)", "serveur"),
    ("https:///path", "serveur"),
    ("https://-bad-.example/", "serveur"),
    ("https://999.0.0.1/", "serveur"),
    ("https://app.example:99999/", "pas une adresse valide"),
    ("https://app.example/#frag", "fragment"),
])
def test_anything_else_is_refused_in_french(url: str, words: str) -> None:
    with pytest.raises(UrlProblem) as refused:
        check_web_url(url)
    assert words in str(refused.value)
    assert uri_problem(url) is not None  # the OIDC clients' and the catalogue's check


def test_native_apps_keep_their_private_scheme() -> None:
    assert uri_problem("fr.editeur.app:/callback", native=True) is None
    assert uri_problem("fr.editeur.app:/cb;script-src", native=True) is not None
    assert csp_leaving_to("fr.editeur.app:/callback").endswith("form-action 'self' fr.editeur.app:")


def test_the_csp_is_built_from_the_parsed_origin_only() -> None:
    assert csp_leaving_to("https://app.example/launch?x=1").endswith("form-action 'self' https://app.example")
    # A URL that slipped in before the check adds nothing: the page may only post to itself.
    for hostile in ("https://evil.example;script-src *", "https://evil.example 'unsafe-inline'", "", None):
        assert csp_leaving_to(hostile) == CSP
    assert leaving_to("https://evil.example; script-src 'unsafe-inline'") == CSP
    assert leaving_to("https://rp.example") == CSP.replace("form-action 'self'", "form-action 'self' https://rp.example")
