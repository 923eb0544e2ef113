"""The care plan as a FHIR R4 Bundle: CarePlan, CareTeam, Task (and Patient, Practitioner, Consent),
valid against the fhir.resources models, with the recorded values as Task outputs."""

from __future__ import annotations

import re

from fhir.resources.R4B.bundle import Bundle
from sqlmodel import select

from bouquet.api.audit import AuditEvent


def test_the_plan_exports_as_a_valid_fhir_bundle(client, doctor, nurse, include, tasks_of):
    client.login(doctor)
    plan_id = include(client, members={"coordinator": doctor, "medecin-traitant": doctor, "infirmier": nurse})
    hba1c = tasks_of(plan_id)["hba1c"]
    client.submit(f"/p/eparcours/tasks/{hba1c.id}/status", {
        "status": "completed", "version": hba1c.version, "value_hba1c": "7,4", "note": "À recontrôler"})

    response = client.get(f"/p/eparcours/plans/{plan_id}/fhir")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/fhir+json")
    assert response.headers["cache-control"] == "no-store"  # patient data: never kept by a cache (issue 13, item 10)
    data = response.json()
    bundle = Bundle.model_validate(data)                      # valid FHIR (R4B models)
    assert bundle.type == "collection"

    resources = [entry["resource"] for entry in data["entry"]]
    by_type: dict[str, list[dict]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(resource)
    assert {"Patient", "Practitioner", "Consent", "CareTeam", "CarePlan", "Task"} <= set(by_type)
    urls = {entry["fullUrl"] for entry in data["entry"]}
    assert all(url.startswith("urn:uuid:") for url in urls) and len(urls) == len(resources)

    patient = by_type["Patient"][0]
    assert patient["identifier"][0]["system"] == "urn:oid:1.2.250.1.213.1.4.10"
    care_plan = by_type["CarePlan"][0]
    assert (care_plan["status"], care_plan["intent"]) == ("active", "plan")
    assert care_plan["title"] == "Suivi du diabète de type 2 de l'adulte"
    tasks = [activity for activity in care_plan["activity"] if "reference" in activity]
    assert len(tasks) == len(by_type["Task"]) == 9     # 8 at inclusion + the next HbA1c
    # The PPCS: the pathway's objectives as Goals, their actions as planned activities.
    assert [goal["description"]["text"] for goal in by_type["Goal"]] == [
        "Atteindre l'objectif d'HbA1c fixé avec le patient", "Dépister tôt les complications"]
    assert {a["detail"]["description"] for a in care_plan["activity"] if "detail" in a} >= {"Fond d'œil", "Éducation thérapeutique"}
    assert "Réévaluation prévue le 2026-07-15" in [note["text"] for note in care_plan["note"]]
    assert care_plan["activity"][0]["reference"]["reference"] in urls
    assert care_plan["subject"]["reference"] in urls and care_plan["careTeam"][0]["reference"] in urls

    team = by_type["CareTeam"][0]
    roles = {p["role"][0]["coding"][0]["code"] for p in team["participant"]}
    assert roles == {"coordinator", "medecin-traitant", "infirmier"}
    assert {p["identifier"][0]["value"] for p in by_type["Practitioner"]} == {doctor.idnat_ps, nurse.idnat_ps}

    done = next(t for t in by_type["Task"] if t["status"] == "completed")
    assert done["code"]["coding"][0]["code"] == "hba1c" and done["intent"] == "plan"
    assert done["output"][0]["valueQuantity"] == {"value": 7.4, "unit": "%"}
    assert done["note"][0]["text"] == "À recontrôler"
    assert done["basedOn"][0]["reference"] == next(e["fullUrl"] for e in data["entry"]
                                                   if e["resource"]["resourceType"] == "CarePlan")
    waiting = next(t for t in by_type["Task"] if t["code"]["coding"][0]["code"] == "fond-oeil")
    assert waiting["status"] == "requested" and "owner" not in waiting
    assert waiting["restriction"]["period"] == {"start": "2026-04-15", "end": "2026-07-15"}
    consent = by_type["Consent"][0]
    assert consent["dateTime"] == "2026-01-10" and "oralement" in consent["policyRule"]["text"]

    with client.app.state.db.session() as session:
        exported = session.exec(select(AuditEvent).where(AuditEvent.action == "eparcours.plan.exported")).all()
    assert len(exported) == 1 and exported[0].patient_ins.startswith("1.2.250.1.213.1.4.10|")


def test_the_stroke_pathway_exports_too(client, doctor, include):
    client.login(doctor)
    plan_id = include(client, "suivi-post-avc", reference_date="2026-02-10",
                      members={"coordinator": doctor, "medecin-traitant": doctor, "neurologue": doctor})
    data = client.get(f"/p/eparcours/plans/{plan_id}/fhir").json()
    Bundle.model_validate(data)
    tasks = {r["code"]["coding"][0]["code"]: r for e in data["entry"] if (r := e["resource"])["resourceType"] == "Task"}
    assert tasks["bilan-post-avc"]["restriction"]["period"] == {"start": "2026-04-10", "end": "2026-08-10"}
    assert tasks["consultation-1-mois"]["restriction"]["period"] == {"start": "2026-03-10", "end": "2026-03-25"}
    assert "orthophonie-suivi" not in tasks              # starts after the speech therapy assessment


def test_the_plan_and_task_pages_speak_to_people_not_in_fhir_words(client, doctor, nurse, include, tasks_of):
    """Issue 14, item 12: no FHIR resource or state name on what a person clicks (buttons, links, choices)."""
    client.login(doctor)
    plan_id = include(client, members={"coordinator": doctor, "medecin-traitant": doctor, "infirmier": nurse})
    task = tasks_of(plan_id)["hba1c"]
    fhir_words = re.compile(r"CarePlan|CareTeam|\bTask\b|in-progress|on-hold|entered-in-error|→")
    for url in (f"/p/eparcours/plans/{plan_id}", f"/p/eparcours/tasks/{task.id}"):
        html = client.get(url).text
        clicked = re.findall(r"<(?:button|a|option)\b[^>]*>(.*?)</(?:button|a|option)>", html, re.S)
        assert clicked, url
        assert not [text for text in clicked if fhir_words.search(text)], url
