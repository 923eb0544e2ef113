"""e-parcours answers the DMP plugin's `dmp_care_team`: a professional in the care team of a patient's active
plan is in that patient's care team for the DMP (CSP L. 1110-12, R. 1111-46), with the pathway as the reason in
the access history; taken off the team, or the plan ended, they are not. Walked end to end through the portal:
inclusion, the nurse reading the DMP, her removal, the same read refused."""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest
from bouquet_dmp import demo
from bouquet_dmp.models import DmpAccessEvent
from bouquet_dmp.testing import TEST_MATRIX
from sqlmodel import col, select

from bouquet.api.patient import DEMO_PATIENTS, audit_ins
from bouquet_eparcours.dmp_care_relationship import care_team_reasons
from bouquet_eparcours.models import CareTeamMember

MARTIN = DEMO_PATIENTS[0]
LETTER = "Lettre de liaison — sortie d'hospitalisation"   # a demo document of MARTIN's DMP the test matrix lets nurses read


@pytest.fixture(autouse=True)
def dmp(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded DMP with the demo records (their holders gave the initial consent), and the tests' matrix."""
    monkeypatch.delenv("BOUQUET_DMP_URL", raising=False)
    monkeypatch.setenv("BOUQUET_DMP_MATRIX", str(TEST_MATRIX))
    demo.load(app.state.db, DEMO_PATIENTS)


def _history(app: Any, idnat: str) -> list[DmpAccessEvent]:
    with app.state.db.session() as session:
        return list(session.exec(select(DmpAccessEvent).where(DmpAccessEvent.actor_idnat == idnat)
                                 .order_by(col(DmpAccessEvent.id))).all())


def test_a_nurse_of_the_plan_reads_the_dmp_without_another_consent_until_she_leaves_the_team(
        app, client, doctor, nurse, include, open_patient):
    # Outside any care team, the nurse is refused and told to ask for the patient's consent.
    client.login(nurse)
    open_patient(client, MARTIN)
    before = client.get("/p/dmp/documents")
    assert LETTER not in unescape(before.text) and "consentement explicite" in unescape(before.text)

    client.login(doctor)
    plan = include(client, members={"coordinator": doctor, "infirmier": nurse})

    client.login(nurse)
    open_patient(client, MARTIN)
    listed = client.get("/p/dmp/documents")
    assert listed.status_code == 200 and LETTER in unescape(listed.text)
    granted = _history(app, nurse.idnat_ps)[-1]
    assert granted.outcome == "granted"
    assert granted.basis.startswith("équipe de soins e-parcours : Infirmier ou infirmière, parcours « Suivi du diabète de type 2")
    assert f"(plan n° {plan})" in granted.basis and "consentement initial recueilli" in granted.basis
    history = client.get("/p/dmp/history")                     # the reason shows with the access
    assert f"plan n° {plan}" in history.text

    client.login(doctor)
    with app.state.db.session() as session:
        member = session.exec(select(CareTeamMember).where(CareTeamMember.care_plan_id == plan,
                                                           CareTeamMember.account_id == nurse.id)).one()
    assert client.submit(f"/p/eparcours/plans/{plan}/team/{member.id}/remove", {}).status_code == 303

    client.login(nurse)
    open_patient(client, MARTIN)
    after = client.get("/p/dmp/documents")
    assert LETTER not in unescape(after.text) and "consentement explicite" in unescape(after.text)
    refused = _history(app, nurse.idnat_ps)[-1]
    assert refused.outcome == "denied" and "équipe de soins" in refused.basis and "e-parcours" not in refused.basis


def test_only_active_plans_and_the_professional_asked_about_count(app, client, doctor, nurse, include):
    client.login(doctor)
    plan = include(client, members={"coordinator": doctor, "infirmier": nurse})
    martin = audit_ins(MARTIN)
    other = audit_ins(DEMO_PATIENTS[1])
    with app.state.db.session() as session:
        found = care_team_reasons(session, [martin, other], nurse.idnat_ps)
        assert list(found) == [martin] and "Infirmier ou infirmière" in found[martin]
        assert care_team_reasons(session, [martin], "810000000000") == {}     # someone else
        assert care_team_reasons(session, [], nurse.idnat_ps) == {}
    ended = client.submit(f"/p/eparcours/plans/{plan}/status",
                          {"status": "completed", "reason": "Fin du suivi à la demande du patient."})
    assert ended.status_code == 303, ended.text
    with app.state.db.session() as session:
        assert care_team_reasons(session, [martin], nurse.idnat_ps) == {}
