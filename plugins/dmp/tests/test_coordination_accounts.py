"""Coordination accounts (social workers, DAC coordinators, médico-social staff, carers) never reach the DMP:
the DMP's actions are granted to health professionals only, whatever the patient in context."""

from __future__ import annotations

from bouquet_dmp.testing import MARTIN


def test_a_coordination_account_is_refused_the_dmp(client, make_account, open_patient, doctor):
    social_worker = make_account(kind="coordination", given_name="Inès", family_name="FAURE",
                                 organisation="DAC Rhône", coordination_role="Assistante de service social")
    client.login(social_worker)
    client.submit("/patient", {"demo": MARTIN.ins.matricule})   # whether or not a patient could be opened
    for url in ("/p/dmp/documents", "/p/dmp/upload", "/p/dmp/emergency"):
        response = client.get(url)
        assert response.status_code == 403, url
    panel = client.get("/p/dmp/panel")      # an htmx fragment: it says so, and shows nothing of the record
    assert panel.status_code == 200 and "dmp-latest" not in panel.text and "documents consultables" not in panel.text
    assert "Votre compte ne permet pas de consulter le DMP." in client.get("/p/dmp/documents").text
    # The same request from a doctor with the patient open is answered: the refusal is the account's kind.
    client.login(doctor)
    open_patient(client)
    assert client.get("/p/dmp/documents").status_code == 200
