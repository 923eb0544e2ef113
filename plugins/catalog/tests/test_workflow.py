"""The review workflow: the transitions table, and the whole story through the pages on both databases —
a vendor submits, the operator requests changes, the vendor fixes, the operator references; the
solution appears in search; a change waits for review; suspending hides it and disables its client."""

from __future__ import annotations

import base64
import re

import pytest
from bouquet_catalog import workflow
from bouquet_catalog.models import ReviewEvent, Solution
from bouquet_catalog.workflow import OPERATOR, SOLUTION, VENDOR, TransitionRefused
from sqlmodel import select

from bouquet.api.oauth import OidcClient


def test_transitions_table_says_who_and_from_where():
    assert workflow.check("submit", "draft", VENDOR, SOLUTION, None).target == "submitted"
    assert workflow.check("approve", "under_review", OPERATOR, SOLUTION, None).target == "referenced"
    with pytest.raises(TransitionRefused) as refused:
        workflow.check("start_review", "submitted", VENDOR, SOLUTION, None)
    assert refused.value.status == 403
    with pytest.raises(TransitionRefused) as refused:
        workflow.check("approve", "submitted", OPERATOR, SOLUTION, None)
    assert refused.value.status == 409 and "Soumise" in refused.value.message
    with pytest.raises(TransitionRefused) as refused:
        workflow.check("suspend", "referenced", OPERATOR, SOLUTION, "  ")
    assert refused.value.status == 400
    with pytest.raises(TransitionRefused):
        workflow.check("suspend", "referenced", OPERATOR, workflow.CHANGE, "motif")  # only on the solution's track
    assert {t.name for t in workflow.available("suspended", OPERATOR, SOLUTION)} == {"reinstate", "withdraw"}
    assert [t.name for t in workflow.available("suspended", VENDOR, SOLUTION)] == ["withdraw"]


def _token_error(client, client_id: str, secret: str) -> str:
    from starlette.testclient import TestClient

    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    # authlib insists on https, or http on localhost
    response = TestClient(client.app, base_url="http://localhost").post("/token", data={"grant_type": "authorization_code", "code": "inconnu",
                                           "redirect_uri": "https://coeur.example/callback"},
                           headers={"Authorization": f"Basic {basic}"})
    assert response.headers.get("content-type", "").startswith("application/json"), (response.status_code, response.text[:300])
    return response.json()["error"]


def test_submit_request_changes_fix_reference_search_change_suspend(app, clients, vendor, operator, doctor, h):
    seller, reviewer, reader = clients(vendor), clients(operator), clients(doctor)

    response = h.post_form(seller, "/p/catalog/vendor/solutions", h.form(name="Cardio Suivi Domicile"))
    assert response.status_code == 303, response.text
    solution_id = int(response.headers["location"].rsplit("/", 1)[1])
    assert reader.get("/p/catalog/?q=cardio").text.count('data-testid="result"') == 0

    # Only the operator moves a submission past "submitted".
    assert seller.submit(f"/p/catalog/vendor/solutions/{solution_id}/transition", {"name": "start_review"}).status_code == 403
    assert reviewer.submit(f"/p/catalog/review/{solution_id}/transition", {"name": "approve"}).status_code == 409
    assert reviewer.submit(f"/p/catalog/review/{solution_id}/transition", {"name": "start_review"}).status_code == 303
    refused = reviewer.submit(f"/p/catalog/review/{solution_id}/transition", {"name": "request_changes", "reason": ""})
    assert refused.status_code == 400 and "Motif" in refused.text
    assert reviewer.submit(f"/p/catalog/review/{solution_id}/transition",
                           {"name": "request_changes", "reason": "Précisez la classe CE du dispositif."}).status_code == 303

    page = seller.get(f"/p/catalog/vendor/solutions/{solution_id}").text
    assert "Modifications demandées" in page and "Précisez la classe CE du dispositif." in page  # the vendor sees why

    fixed = h.post_form(seller, f"/p/catalog/vendor/solutions/{solution_id}", h.form(name="Cardio Suivi Domicile", claim_ce_detail="IIb"))
    assert fixed.status_code == 303
    assert reviewer.submit(f"/p/catalog/review/{solution_id}/transition", {"name": "start_review"}).status_code == 303
    approved = reviewer.submit(f"/p/catalog/review/{solution_id}/transition", {"name": "approve", "verified": ["ce"]})
    assert approved.status_code == 303

    # Referenced: found accent- and case-insensitively, with its claims and their status.
    results = reader.get("/p/catalog/?q=CARDIO domicile&conformity=ce&region=84&profession=10").text
    assert results.count('data-testid="result"') == 1
    assert reader.get("/p/catalog/?q=cardio&conformity=hds").text.count('data-testid="result"') == 0  # declared, not verified
    detail = reader.get(f"/p/catalog/solutions/{solution_id}")
    assert detail.status_code == 200
    assert "Vérifiée par l&#39;opérateur" in detail.text and "Non vérifiée" in detail.text
    assert "form-action 'self' https://coeur.example" in detail.headers["content-security-policy"]

    # Its OIDC client exists; the vendor gets the secret once; the client authenticates.
    with app.state.db.session() as session:
        solution = session.get(Solution, solution_id)
        client = session.exec(select(OidcClient).where(OidcClient.client_id == solution.oidc_client_id)).one()
        assert client.redirect_uris == ["https://coeur.example/callback"] and client.active
        transitions = [e.transition for e in session.exec(select(ReviewEvent).where(ReviewEvent.solution_id == solution_id)
                                                          .order_by(ReviewEvent.id)).all()]
    assert transitions == ["create", "submit", "start_review", "request_changes", "submit", "start_review", "approve"]
    shown = seller.submit(f"/p/catalog/vendor/solutions/{solution_id}/secret")
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    secret = re.search(r'data-testid="client-secret">([^<]+)<', shown.text).group(1)
    assert _token_error(reader, client.client_id, secret) == "invalid_grant"  # client accepted, bogus code refused

    # A change to a referenced solution waits for review before it shows.
    changed = h.post_form(seller, f"/p/catalog/vendor/solutions/{solution_id}", h.form(name="Cardio Suivi Plus"))
    assert changed.status_code == 303
    assert "Cardio Suivi Domicile" in reader.get(f"/p/catalog/solutions/{solution_id}").text
    assert reader.get("/p/catalog/?q=plus").text.count('data-testid="result"') == 0
    blocked = h.post_form(seller, f"/p/catalog/vendor/solutions/{solution_id}", h.form(name="Encore autre"))
    assert blocked.status_code == 409  # already submitted for review: no edit under the reviewer's feet
    reviewer.submit(f"/p/catalog/review/{solution_id}/transition", {"name": "start_review"})
    reviewer.submit(f"/p/catalog/review/{solution_id}/transition", {"name": "approve", "verified": ["ce", "hds"]})
    assert "Cardio Suivi Plus" in reader.get(f"/p/catalog/solutions/{solution_id}").text
    assert reader.get("/p/catalog/?q=plus&conformity=hds").text.count('data-testid="result"') == 1

    # Suspension hides it and disables its client at once.
    assert reviewer.submit(f"/p/catalog/review/{solution_id}/transition",
                           {"name": "suspend", "reason": "Certificat HDS expiré."}).status_code == 303
    assert reader.get("/p/catalog/?q=cardio").text.count('data-testid="result"') == 0
    assert reader.get(f"/p/catalog/solutions/{solution_id}").status_code == 404
    assert reader.submit(f"/p/catalog/solutions/{solution_id}/open").status_code == 404
    assert _token_error(reader, client.client_id, secret) == "invalid_client"
    assert reviewer.submit(f"/p/catalog/review/{solution_id}/transition", {"name": "suspend", "reason": "x"}).status_code == 409


def test_open_is_audited_and_leads_to_the_app(app, clients, vendor, operator, doctor, h):
    from bouquet.api.audit import AuditEvent

    seller, reviewer, reader = clients(vendor), clients(operator), clients(doctor)
    solution_id = int(h.post_form(seller, "/p/catalog/vendor/solutions", h.form()).headers["location"].rsplit("/", 1)[1])
    for name in ("start_review", "approve"):
        reviewer.submit(f"/p/catalog/review/{solution_id}/transition", {"name": name})
    from bouquet.api.patient import DEMO_PATIENTS

    patient = DEMO_PATIENTS[0]
    assert reader.submit("/patient", {"demo": patient.ins.matricule}).status_code == 303
    opened = reader.submit(f"/p/catalog/solutions/{solution_id}/open")
    assert opened.status_code == 303 and opened.headers["location"].startswith("https://coeur.example/launch?iss=")
    with app.state.db.session() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "catalog.open")).one()
    assert event.resource == f"catalog:solution:{solution_id}" and doctor.family_name in event.actor
    assert event.patient_ins == f"{patient.ins.oid}|{patient.ins.matricule}"
    assert seller.get("/p/catalog/review").status_code == 403 and reader.get("/p/catalog/vendor").status_code == 403


def test_another_vendors_solution_is_not_found_and_the_attempt_is_audited(app, clients, vendor, make_account, h):
    """A vendor asking for another vendor's solution gets a 404 (its existence is not revealed), and
    the audit trail records the refusal (`access.refused`, reason `another_vendor`)."""
    from bouquet.testing.signin import audit_actions

    seller = clients(vendor)
    solution_id = int(h.post_form(seller, "/p/catalog/vendor/solutions", h.form(name="Cardio Suivi"))
                      .headers["location"].rsplit("/", 1)[1])
    rival = clients(make_account(kind="vendor", given_name="Léa", family_name="MOREAU", organisation="Autre Éditeur",
                                 siren="732829320"))
    assert "access.refused" not in audit_actions(app)
    assert rival.get(f"/p/catalog/vendor/solutions/{solution_id}").status_code == 404
    assert audit_actions(app).count("access.refused") == 1
    with app.state.db.session() as session:
        from bouquet.foundation.audit import AuditEvent

        event = session.exec(select(AuditEvent).where(AuditEvent.action == "access.refused")).one()
    assert event.details["reason"] == "another_vendor" and "MOREAU" in event.actor
    # A solution that does not exist at all is a plain 404, not a refusal.
    assert rival.get("/p/catalog/vendor/solutions/999999").status_code == 404
    assert audit_actions(app).count("access.refused") == 1
