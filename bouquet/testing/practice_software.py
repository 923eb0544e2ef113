"""The example practice software (`examples/practice_software`), served for end-to-end tests.

    software = start_practice_software(live_server.url, live_server.app)   # or the `practice_software` fixture
    page.goto(software.url)                        # « Se connecter avec Bouquet », « Ouvrir dans le Bouquet »
    url = software.launch_url(doctor.idnat_ps, DEMO_PATIENTS[0])   # a raw launch link, server to server
    software.stop()

`register_practice_software` registers it in the portal as the vendor would: a first-party,
confidential client with the code flow, refresh tokens and client credentials, scope incl. `launch`.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bouquet.patient.model import PatientContext
from bouquet.sso.oidc.clients import register_client
from bouquet.testing.servers import free_port, serve

NAME = "Logiciel Médical Exemple"
SCOPE = "openid profile scope_all launch"
GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials"]


def register_practice_software(db: Any, base_url: str, *, name: str = NAME) -> tuple[str, str]:
    """Register the software served at `base_url` in the portal's database; its client id and secret."""
    with db.write() as session:
        registered = register_client(session, name=name, redirect_uris=[f"{base_url}/callback"],
                                     grant_types=GRANT_TYPES, scope=SCOPE, first_party=True,
                                     created_by="tests")
        assert registered.secret is not None
        return registered.client.client_id, registered.secret


def example_module(name: str = "app") -> Any:
    """`examples.practice_software.<name>`, importable even when the repository root is not on sys.path."""
    try:
        return importlib.import_module(f"examples.practice_software.{name}")
    except ModuleNotFoundError:  # not run from the repository root: the examples sit beside the package
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
        return importlib.import_module(f"examples.practice_software.{name}")


@dataclass
class PracticeSoftware:
    """The example practice software running on its own port, registered in the portal at `portal_url`."""

    url: str
    portal_url: str
    client_id: str
    secret: str
    app: Any
    _stop: Any = field(default=None, repr=False)

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None

    def service_token(self, scope: str = "launch") -> str:
        """A fresh client-credentials access token of this software."""
        response = httpx.post(f"{self.portal_url}/token", data={"grant_type": "client_credentials", "scope": scope},
                              auth=(self.client_id, self.secret), timeout=20)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def launch_url(self, professional: str, patient: PatientContext, **extra: Any) -> str:
        """Ask the launch API directly, as the software's backend does, and return the launch URL."""
        payload = example_module().launch_payload(patient)
        response = httpx.post(f"{self.portal_url}/api/launch", json={"professional": professional, "patient": payload,
                                                                     **extra},
                              headers={"Authorization": f"Bearer {self.service_token()}"}, timeout=20)
        assert response.status_code == 201, response.text
        return str(response.json()["launch_url"])


def start_practice_software(portal_url: str, portal_app: Any, port: int | None = None) -> PracticeSoftware:
    """Register the example in the portal and serve it on `port` (a free one by default)."""

    port = port or free_port()
    url = f"http://localhost:{port}"
    client_id, secret = register_practice_software(portal_app.state.db, url)
    module = example_module()
    app = module.create_app(module.Config(issuer=portal_url, client_id=client_id, client_secret=secret, base_url=url,
                                          session_secret="practice-software-test-secret"))
    software = PracticeSoftware(url, portal_url, client_id, secret, app)
    software._stop = serve(app, port)
    return software
