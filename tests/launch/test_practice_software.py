"""The example practice software against a live portal, without a browser: what it does when Bouquet
refuses, and that it asks for the service token once and renews it when Bouquet forgets it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bouquet.patient.demo import DEMO_PATIENTS
from bouquet.sso.oidc import tokens
from bouquet.testing.practice_software import example_module

launch_payload = example_module("app").launch_payload
BouquetError = example_module("bouquet_link").BouquetError
professional_of = example_module("bouquet_link").professional_of


def test_the_backend_link_caches_its_token_and_reports_refusals_in_french(practice_software, live_server,
                                                                          make_account):
    doctor = make_account()
    link = practice_software.app.state.link

    async def story() -> tuple[str, str, BouquetError]:
        first = await link.launch(doctor.idnat_ps, launch_payload(DEMO_PATIENTS[0]))
        token = await link.service_token()
        with live_server.app.state.db.write() as session:  # Bouquet revokes it: the next call renews it
            tokens.revoke_client(session, practice_software.client_id, "test")
        second = await link.launch(doctor.idnat_ps, launch_payload(DEMO_PATIENTS[1]),
                                   return_url=f"{practice_software.url}/")
        assert await link.service_token() != token
        with pytest.raises(BouquetError) as refused:
            await link.launch(doctor.idnat_ps, {**launch_payload(DEMO_PATIENTS[2]), "birth_date": "1942-02-30"})
        return first, second, refused.value

    first, second, refused = asyncio.run(story())
    assert first.startswith(f"{live_server.url}/launch?launch=") and second != first
    assert (refused.status, refused.field) == (400, "patient.birth_date")
    assert "n'existe pas" in refused.message


def test_the_pages_refuse_to_open_without_a_sign_in(practice_software):
    with httpx.Client(base_url=practice_software.url) as http:
        home = http.get("/")
        assert home.status_code == 200 and "Se connecter avec Bouquet" in home.text
        csrf = home.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        refused = http.post(f"/open/{DEMO_PATIENTS[0].ins.matricule}", data={"csrf": csrf})
        assert refused.status_code == 401 and "Connectez-vous avec Bouquet" in refused.text
        forged = http.post(f"/open/{DEMO_PATIENTS[0].ins.matricule}", data={"csrf": "x"})
        assert forged.status_code == 403


def test_the_professional_of_the_claims():
    assert professional_of({"account_kind": "professional", "SubjectNameID": "899900000011"}) == "899900000011"
    assert professional_of({"account_kind": "secretary", "SubjectNameID": "bouquet:account:3",
                            "acting_for": {"SubjectNameID": "899900000011"}}) == "899900000011"
    assert professional_of({"account_kind": "secretary"}) is None
    assert professional_of({"account_kind": "vendor", "SubjectNameID": "x"}) is None
