"""Whose X-Forwarded-For is believed: only the trusted proxies' (BOUQUET_TRUSTED_PROXIES)."""

from __future__ import annotations

import ipaddress

import pytest
from sqlmodel import select

from bouquet.foundation.audit import AuditEvent
from bouquet.testing.fixtures import BouquetClient
from bouquet.web.proxies import client_address

TRUSTED = [ipaddress.ip_network("10.0.0.0/24"), ipaddress.ip_network("2001:db8::/64")]


@pytest.mark.parametrize(("peer", "header", "source"), [
    ("10.0.0.5", "198.51.100.1", "198.51.100.1"),                    # the proxy's word
    ("10.0.0.5", "203.0.113.66, 198.51.100.1", "198.51.100.1"),       # a client-written entry on the left: ignored
    ("10.0.0.5", "198.51.100.1, 10.0.0.7", "198.51.100.1"),           # two trusted proxies in a row
    ("10.0.0.5", "10.0.0.8, 10.0.0.7", "10.0.0.8"),                   # only proxies: the leftmost
    ("10.0.0.5", "not-an-address", "10.0.0.5"),                       # malformed: believe nothing
    ("192.0.2.9", "198.51.100.1", "192.0.2.9"),                       # not a trusted peer: header ignored
    ("2001:db8::5", "[2001:db8:1::9]:443", "2001:db8:1::9"),
    ("10.0.0.5", None, "10.0.0.5"),
])
def test_client_address(peer, header, source):
    assert client_address(peer, header, TRUSTED) == source


def test_no_trusted_proxy_means_the_header_is_never_read():
    assert client_address("10.0.0.5", "198.51.100.1", []) == "10.0.0.5"


def test_a_bad_setting_is_refused_at_start(make_settings):
    with pytest.raises(Exception, match="not an IP address or network"):
        make_settings(trusted_proxies="10.0.0.0/24, proxy.example.fr")


def _failed_sign_in_source(app, peer: str, forwarded_for: str) -> str:
    with BouquetClient(app, base_url="http://testserver.local", follow_redirects=False, client=(peer, 40000)) as browser:
        browser.get("/login")
        browser.submit("/login", {"username": "nobody", "password": "wrong password"},
                       headers={"X-Forwarded-For": forwarded_for})
    with app.state.db.session() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "signin.failure")
                             .order_by(AuditEvent.seq.desc())).first()
    return event.source_ip


def test_the_audit_trail_records_the_source_the_trusted_proxy_saw(make_app):
    app = make_app(trusted_proxies="10.0.0.0/24")
    assert _failed_sign_in_source(app, "10.0.0.5", "198.51.100.1") == "198.51.100.1"
    # A client that writes the header itself, straight to the portal: its own address is recorded.
    assert _failed_sign_in_source(app, "192.0.2.9", "198.51.100.1") == "192.0.2.9"


def test_by_default_the_header_is_ignored(app):
    assert _failed_sign_in_source(app, "10.0.0.5", "198.51.100.1") == "10.0.0.5"
