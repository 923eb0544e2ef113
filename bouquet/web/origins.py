"""Web addresses given by others (a vendor's launch URL, an app's redirect URIs), checked strictly, and the
origins built from them for headers.

A URL accepted here is https (or http on this machine, for development), names a real host (a DNS
name, an IPv4 address or a bracketed IPv6 one) with an optional port, carries no user name or
password, and contains no space, quote, `;`, `,`, backslash or control character: nothing that
could end a header value or a Content-Security-Policy directive once the URL is written into one.
Headers are built from `origin_of`, which re-assembles the origin from the parsed parts.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

from bouquet.web.headers import CSP

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
# RFC 3986's characters, less those that separate things in headers and CSP (`'`, `;`, `,`), plus
# letters beyond ASCII (an internationalised host, written in its IDNA form in headers).
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&()*+=%\u00a0-\U0010ffff]+")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_PRIVATE_SCHEME = re.compile(r"[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+")
_ORIGIN = re.compile(r"https?://(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:[0-9]{1,5})?")


class UrlProblem(ValueError):
    """Why a URL is refused, in French."""


def _valid_host(host: str) -> bool:
    if host.startswith("["):
        try:
            return ipaddress.ip_address(host[1:-1]).version == 6 and host.endswith("]")
        except ValueError:
            return False
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
            return True
        except ValueError:
            return False
    labels = host.rstrip(".").split(".")
    return len(host) <= 253 and all(_LABEL.fullmatch(label) for label in labels) and not labels[-1].isdigit()


def check_web_url(url: str, *, allow_fragment: bool = False) -> str:
    """The origin of `url` (`https://host[:port]`), or `UrlProblem` saying in French why it is refused."""
    if not url or not _URL_CHARACTERS.fullmatch(url) or any(unicodedata.category(c)[0] in "CZ" for c in url):
        raise UrlProblem(f"« {url} » contient des caractères interdits dans une adresse (espace, guillemet, « ; », « , »…).")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlProblem(f"« {url} » n'est pas une adresse valide.") from None
    if not allow_fragment and (parts.fragment or "#" in url):
        raise UrlProblem(f"« {url} » ne doit pas contenir de fragment (#…).")
    if "@" in parts.netloc:
        raise UrlProblem(f"« {url} » ne doit pas contenir d'identifiant ni de mot de passe (…@).")
    netloc = parts.netloc.lower()
    host = netloc[:netloc.index("]") + 1] if netloc.startswith("[") and "]" in netloc else netloc.split(":")[0]
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")  # médicab.example → xn--mdicab-bva.example
        except UnicodeError:
            raise UrlProblem(f"« {url} » ne désigne pas un serveur valide.") from None
    if not parts.hostname or not _valid_host(host):
        raise UrlProblem(f"« {url} » ne désigne pas un serveur valide.")
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
        return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
    raise UrlProblem(f"« {url} » doit être une adresse https (ou http://localhost pour le développement).")


def origin_of(url: str) -> str | None:
    """scheme://host[:port] of a URL accepted by `check_web_url`, or None for any other."""
    try:
        return check_web_url(url, allow_fragment=True)
    except UrlProblem:
        return None


def csp_leaving_to(url: str | None) -> str:
    """The default Content-Security-Policy, letting a form on this page lead to `url`'s origin.

    A URL that is not a valid web address adds nothing: the page then may only post to itself.
    """
    origin = origin_of(url) if url else None
    if origin is None or not _ORIGIN.fullmatch(origin):
        scheme = (url or "").split(":", 1)[0]
        if not (url and _PRIVATE_SCHEME.fullmatch(scheme)):
            return CSP
        origin = f"{scheme}:"  # a native application's own scheme (RFC 8252 §7.1): a CSP scheme-source
    return CSP.replace("form-action 'self'", f"form-action 'self' {origin}")
