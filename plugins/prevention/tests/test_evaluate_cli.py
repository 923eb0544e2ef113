"""`bouquet prevention evaluate FILE --on YYYY-MM-DD`: a FHIR R4 Bundle in, every rule's status out
as JSON, from the same engine as the pages and CDS Hooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from bouquet_prevention import bouquet_cli
from bouquet_prevention.testing import MARTIN
from click.testing import CliRunner


@pytest.fixture
def evaluate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("BOUQUET_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("BOUQUET_PLUGINS", "prevention")
    group = click.Group()
    bouquet_cli(group)

    def run(bundle: Any, on: str = "2026-11-28") -> Any:
        path = tmp_path / "bundle.json"
        path.write_text(json.dumps(bundle) if not isinstance(bundle, str) else bundle, encoding="utf-8")
        return CliRunner().invoke(group, ["prevention", "evaluate", str(path), "--on", on])

    return run


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": MARTIN.to_fhir_patient("p1")}, *({"resource": r} for r in resources)]}


def immunization(cvx: str, day: str) -> dict[str, Any]:
    return {"resourceType": "Immunization", "status": "completed", "occurrenceDateTime": day,
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": cvx}]},
            "patient": {"reference": "Patient/p1"}}


def statuses(result: Any) -> dict[str, dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return {o["rule"]: o for o in json.loads(result.output)["outcomes"]}


def test_a_bundle_gives_every_rule_s_status(evaluate: Any) -> None:
    found = statuses(evaluate(bundle(immunization("197", "2026-10-20"), immunization("187", "2026-01-10"),
                                     immunization("187", "2026-01-29"))))
    assert found["grippe-65-ans"]["status"] == "done" and found["grippe-65-ans"]["until"] == "2027-10-15"
    assert "197" in found["grippe-65-ans"]["satisfied_by"][0]["cvx"]
    # Shingrix 19 days apart: the second dose does not count; and more than 6 months after the first
    # (10/07/2026), none since: overdue from the day after the longest interval.
    zona = found["zona-65-ans"]
    assert zona["status"] == "overdue" and zona["incomplete"] and zona["too_soon"] == ["2026-01-29"]
    assert zona["since"] == "2026-07-11" and zona["lapsed"] == "2026-07-10" and zona["doses"] == [1, 2]
    assert found["vrs-65-ans-risque"]["status"] == "not_applicable"
    assert found["depistage-cancer-colorectal"]["satisfied_by"] == [
        {"act": "test-immunologique-colorectal", "system": "urn:bouquet:prevention:act"}]
    assert {o["status"] for o in found.values()} <= {"not_applicable", "upcoming", "due", "overdue", "done"}


def test_conditions_and_procedures_of_the_bundle_count(evaluate: Any) -> None:
    copd = {"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J44"}]}}
    colonoscopy = {"resourceType": "Procedure", "status": "completed", "performedDateTime": "2024-03-01",
                   "code": {"coding": [{"system": "urn:bouquet:prevention:act", "code": "coloscopie"}]}}
    result = evaluate(bundle(copd, colonoscopy))
    found = statuses(result)
    assert json.loads(result.output)["patient"]["conditions"] == ["maladie-respiratoire-chronique"]
    assert found["vrs-65-ans-risque"]["status"] == "due"
    colorectal = found["depistage-cancer-colorectal"]
    assert colorectal["status"] == "done" and colorectal["excluded_by"] == "coloscopie"
    assert colorectal["until"] == "2029-03-01"


def test_the_evaluation_date_is_the_one_given(evaluate: Any) -> None:
    assert statuses(evaluate(bundle(), on="2026-02-28"))["grippe-65-ans"]["status"] == "due"  # 2025-26 extended
    assert statuses(evaluate(bundle(), on="2026-03-01"))["grippe-65-ans"]["status"] == "upcoming"


def test_bad_input_is_refused_naming_what_is_wrong(evaluate: Any) -> None:
    bad_date = evaluate(bundle(), on="28/11/2026")
    assert bad_date.exit_code == 2 and "AAAA-MM-JJ" in bad_date.output
    not_json = evaluate("{")
    assert not_json.exit_code == 1 and "JSON illisible" in not_json.output
    no_patient = evaluate({"resourceType": "Bundle", "entry": []})
    assert no_patient.exit_code == 2 and "Patient" in no_patient.output
    wrong = immunization("197", "2026-10-20")
    wrong["occurrenceDateTime"] = 12
    refused = evaluate(bundle(wrong))
    assert refused.exit_code == 2 and "entry[1]" in refused.output, refused.output


def test_a_bundle_with_a_pregnancy_condition_and_its_onset(evaluate: Any) -> None:
    from bouquet.api.patient import DEMO_PATIENTS

    woman = DEMO_PATIENTS[4]  # N'DIAYE Aminata, born 1993

    def pregnant(*conditions: dict[str, Any]) -> dict[str, Any]:
        return {"resourceType": "Bundle", "type": "collection",
                "entry": [{"resource": woman.to_fhir_patient("p1")}, *({"resource": c} for c in conditions)]}

    condition = {"resourceType": "Condition", "clinicalStatus": {"coding": [{"code": "active"}]},
                 "code": {"coding": [{"system": "http://snomed.info/sct", "code": "77386006"}]},
                 "onsetDateTime": "2026-04-25"}
    # 31 SA + 6 j the day before 32 SA, 32 SA + 0 j, 36 SA + 6 j, 37 SA + 0 j.
    expected = {"2026-11-20": ("upcoming", None), "2026-11-21": ("due", None), "2026-12-25": ("due", None),
                "2026-12-26": ("not_applicable", "missed")}
    for on, (status, reason) in expected.items():
        result = evaluate(pregnant(condition), on=on)
        found = statuses(result)["vrs-grossesse"]
        assert (found["status"], found.get("reason")) == (status, reason), on
        assert found["satisfied_by"][0]["act"] == "VRS"
    answer = json.loads(evaluate(pregnant(condition), on="2026-11-21").output)
    assert answer["patient"]["pregnancy"] == {"start": "2026-04-25", "expected_delivery": "2027-01-23",
                                              "weeks": [32, 0]}
    assert {"grossesse"} <= set(answer["patient"]["conditions"])
    found = statuses(evaluate(pregnant(condition), on="2026-11-21"))["vrs-grossesse"]
    assert found["since"] == "2026-11-21" and found["deadline"] == "2026-12-25" and found["gestation"] == [32, 0]
    # Without the onset: the term is unknown, said so; flu still applies.
    undated = {key: value for key, value in condition.items() if key != "onsetDateTime"}
    outcomes = statuses(evaluate(pregnant(undated), on="2026-11-21"))
    assert outcomes["vrs-grossesse"]["status"] == "upcoming"
    assert outcomes["vrs-grossesse"]["note"] == "Terme de la grossesse inconnu : à renseigner"
    assert outcomes["grippe-risque"]["status"] == "due"
    # Its expected delivery two weeks past: not pregnant any more.
    over = statuses(evaluate(pregnant(condition), on="2027-02-06"))
    assert over["vrs-grossesse"]["status"] == "not_applicable" and over["grippe-risque"]["status"] == "not_applicable"
