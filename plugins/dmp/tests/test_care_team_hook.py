"""`dmp_care_team`, the hook other plugins answer to put a professional in a patient's care team (CSP L. 1110-12,
R. 1111-46): what it answers is the reason shown in the access history; a plugin that fails, or answers for
another professional or patient, gives nobody access."""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest
from bouquet_dmp import demo
from bouquet_dmp.models import DmpAccessEvent
from bouquet_dmp.testing import MARTIN, MARTIN_INS
from sqlmodel import col, select

from bouquet import hookimpl
from bouquet.api.patient import DEMO_PATIENTS

LETTER = "Lettre de liaison — sortie d'hospitalisation"


class Network:
    """A regional network's plugin: it knows which professionals follow which patients."""

    def __init__(self) -> None:
        self.members: dict[str, set[str]] = {}
        self.broken = False

    @hookimpl
    def dmp_care_team(self, session: Any, patients: list[str], idnat_ps: str) -> dict[str, str]:
        if self.broken:
            raise RuntimeError("annuaire du réseau injoignable")
        return {ins: "réseau de soins palliatifs : infirmière référente" for ins in patients
                if idnat_ps in self.members.get(ins, set())} | {"1.2.250.1.213.1.4.10|999999999999999": "autre patient"}


@pytest.fixture
def network() -> Network:
    return Network()


@pytest.fixture
def app(make_app: Any, network: Network) -> Any:
    app = make_app(extra_plugins=[("reseau", network)])
    demo.load(app.state.db, DEMO_PATIENTS)
    return app


def _last(app: Any, idnat: str) -> DmpAccessEvent:
    with app.state.db.session() as session:
        return session.exec(select(DmpAccessEvent).where(DmpAccessEvent.actor_idnat == idnat)
                            .order_by(col(DmpAccessEvent.id).desc())).first()


def test_a_professional_another_plugin_names_in_the_care_team_reads_with_its_reason(
        app, client, make_account, network, open_patient):
    nurse = make_account(given_name="Inès", family_name="ROUX", profession_code="60", profession_label="Infirmier")
    client.login(nurse)
    open_patient(client, MARTIN)
    refused = unescape(client.get("/p/dmp/documents").text)
    assert LETTER not in refused and "consentement explicite" in refused

    network.members[MARTIN_INS] = {nurse.idnat_ps}
    listed = unescape(client.get("/p/dmp/documents").text)
    assert LETTER in listed
    granted = _last(app, nurse.idnat_ps)
    assert granted.outcome == "granted" and granted.basis.startswith("réseau de soins palliatifs : infirmière référente ; "
                                                                     "patient informé, consentement initial recueilli")
    assert "réseau de soins palliatifs" in unescape(client.get("/p/dmp/history").text)

    network.broken = True                  # a failing plugin: logged, counted, and no access from it
    again = client.get("/p/dmp/documents")
    assert again.status_code == 200 and LETTER not in unescape(again.text)
    assert _last(app, nurse.idnat_ps).outcome == "denied"
    assert app.state.plugins.info["reseau"].failures["dmp_care_team"] >= 1


def test_the_hook_is_declared_for_other_plugins_when_the_portal_starts(app, client):
    client.get("/healthz")
    caller = app.state.plugins.pm.hook.dmp_care_team
    assert caller.has_spec() and caller.spec.argnames == ("session", "patients", "idnat_ps")
