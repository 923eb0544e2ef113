"""Which reverse proxies' `X-Forwarded-For` is believed (`BOUQUET_TRUSTED_PROXIES`).

The source address feeds the throttle's per-source counters and every audit event, so it must not
be whatever a client writes in a header. Only when the peer is one of the trusted proxies is the
header read, from the right (the entry the nearest proxy appended) leftwards, skipping trusted
proxies: the first address that is not one is the client. From any other peer the header is
ignored and the peer is the source. With no trusted proxy (the default) the header is never read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # 192.0.2.1:443
        value = value.split(":")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str | None:
    """The source address of a request from `peer` carrying this `X-Forwarded-For` value."""
    peer_address = _address(peer) if peer else None
    if not trusted or peer_address is None or not forwarded_for or not _in(peer_address, trusted):
        return peer
    hops = [_address(item) for item in forwarded_for.split(",")]
    for hop in reversed(hops):
        if hop is None:
            return peer  # a malformed entry: believe nothing beyond the proxy
        if not _in(hop, trusted):
            return str(hop)
    return str(hops[0]) if hops and hops[0] is not None else peer


def _in(address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


class TrustedProxyMiddleware:
    """Sets the request's client address from `X-Forwarded-For` when a trusted proxy sent it."""

    def __init__(self, app: ASGIApp, *, trusted: Sequence[Network]) -> None:
        self.app, self.trusted = app, list(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.trusted and scope.get("client"):
            header = next((value.decode("latin-1") for name, value in scope["headers"]
                           if name == b"x-forwarded-for"), None)
            host, port = scope["client"]
            source = client_address(host, header, self.trusted)
            if source != host:
                scope = {**scope, "client": (source, port)}
        await self.app(scope, receive, send)
