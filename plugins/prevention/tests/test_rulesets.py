"""Rule files: the shipped rules load, and a bad file is refused with its file, rule and field named."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from bouquet_prevention.catalogue import default_catalogue, load_catalogue
from bouquet_prevention.errors import RuleFileError
from bouquet_prevention.rulesets import RULES_DIR, default_rules, load_rule_dir, merge

VALID: dict[str, Any] = {
    "id": "exemple-depistage",
    "version": "2025.1",
    "title": "Un dépistage d'exemple",
    "category": "depistage",
    "population": {"age": {"min": 50, "max": 75}, "sex": "F"},
    "schedule": {"kind": "recurring", "intervals_months": [24], "grace_months": 6},
    "satisfied_by": ["mammographie"],
    "wording": {"summary": "Dépistage d'exemple"},
    "sources": [{"title": "Un document", "publisher": "Un éditeur", "year": 2025, "url": "https://example.org/doc"}],
    "verified": "Test data.",
}

REQUIRED_IDS = {
    "dtp-rappel-adulte", "coqueluche-25-ans", "grippe-65-ans", "pneumocoque-65-ans", "zona-65-ans", "vrs-75-ans",
    "hpv", "depistage-cancer-sein", "depistage-cancer-colorectal", "depistage-col-uterus-cytologie",
    "depistage-col-uterus-test-hpv", "mon-bilan-prevention",
}


def write(directory: Path, name: str, rules: list[Any]) -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump({"rules": rules}, allow_unicode=True), encoding="utf-8")
    return path


def variant(**changes: Any) -> dict[str, Any]:
    rule = copy.deepcopy(VALID)
    for dotted, value in changes.items():
        target = rule
        *parents, last = dotted.split("__")
        for key in parents:
            target = target[key]
        target[last] = value
    return rule


def refusal(tmp_path: Path, rule: dict[str, Any]) -> RuleFileError:
    write(tmp_path, "regles.yaml", [VALID | {"id": "autre-regle"}, rule])
    with pytest.raises(RuleFileError) as caught:
        load_rule_dir(tmp_path, default_catalogue())
    return caught.value


def test_the_shipped_rules_load_with_their_sources_and_verification_notes() -> None:
    rules = default_rules()
    assert REQUIRED_IDS <= {rule.id for rule in rules}
    for rule in rules:
        assert rule.sources and rule.sources[0].url.startswith("https://") and rule.verified.strip()
        assert rules.origins[rule.id].endswith(".yaml")


def test_the_shipped_catalogue_loads() -> None:
    catalogue = load_catalogue()
    assert {"dTcaP", "dTP", "grippe", "pneumocoque-VPC20", "zona-Shingrix", "VRS", "HPV", "mammographie",
            "test-immunologique-colorectal", "cytologie", "test-HPV", "bilan-prevention", "meningocoque-ACWY",
            "meningocoque-B", "COVID-19", "ROR", "coloscopie", "hexavalent", "pneumocoque-conjugue"} == set(catalogue.acts)
    assert catalogue.act_for_coding("http://hl7.org/fhir/sid/cvx", "187") == "zona-Shingrix"
    assert catalogue.act_for_coding("urn:bouquet:prevention:act", "mammographie") == "mammographie"
    assert catalogue.act_for_coding("http://hl7.org/fhir/sid/cvx", "03") == "ROR"
    assert catalogue.act_for_coding("http://hl7.org/fhir/sid/cvx", "121") is None  # Zostavax: not Shingrix


def test_a_valid_file_loads(tmp_path: Path) -> None:
    write(tmp_path, "regles.yaml", [VALID])
    ruleset = load_rule_dir(tmp_path, default_catalogue())
    assert [rule.id for rule in ruleset] == ["exemple-depistage"] and ruleset.origins == {"exemple-depistage": "regles.yaml"}


@pytest.mark.parametrize(("rule", "field", "words"), [
    (variant(satisfied_by=["mammographie", "radiographie"]), "satisfied_by[1]", "unknown act code 'radiographie'"),
    (variant(population__conditions={"any_of": ["diabète"]}), "population.conditions.any_of[0]", "unknown condition"),
    ({k: v for k, v in VALID.items() if k != "version"}, "version", "Field required"),
    (variant(version="v1"), "version", "YYYY.N"),
    (variant(population__sex="X"), "population.sex", "'F' or 'M'"),
    (variant(population__age={"min": 75, "max": 50}), "population.age", "max must be greater than min"),
    (variant(schedule={"kind": "tous-les-ans"}), "schedule", "kind"),
    (variant(schedule={"kind": "recurring", "intervals_months": ["deux ans"]}), "schedule.intervals_months[0]", "integer"),
    (variant(schedule={"kind": "once", "doses": 3, "dose_intervals_months": [2]}), "schedule", "needs 2 interval(s)"),
    (variant(schedule={"kind": "seasonal", "season_start": "08-01", "campaign_start": "10-15", "campaign_end": "09-30"}),
     "schedule", "campaign_end must come after campaign_start"),
    (variant(schedule={"kind": "seasonal", "season_start": "08-01", "campaign_start": "02-29", "campaign_end": "03-31"}),
     "schedule.campaign_start", "not a day of every year"),
    (variant(schedule={"kind": "fixed_ages", "ages": [25, 45]}), None, "leave population.age.max out"),
    (variant(schedule={"kind": "fixed_ages", "ages": [45, 25]}, population={}), "schedule.ages", "strictly increasing"),
    (variant(sources=[{"title": "Doc", "publisher": "HAS", "year": 2025, "url": "has-sante.fr"}]), "sources[0].url", "pattern"),
    (variant(sources=[]), "sources", "at least 1"),
    (variant(wording={"summary": "x" * 101}), "wording.summary", "at most 100"),
    (variant(colour="rouge"), "colour", "Extra inputs"),
])
def test_a_bad_rule_is_refused_naming_the_file_the_rule_and_the_field(tmp_path: Path, rule: dict[str, Any],
                                                                       field: str | None, words: str) -> None:
    error = refusal(tmp_path, rule)
    assert error.source == "regles.yaml" and error.rule == "exemple-depistage"
    assert error.field == field, error
    assert words in error.problem, error
    assert str(error).startswith("regles.yaml, rule 'exemple-depistage'")


def test_invalid_yaml_is_refused_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "casse.yaml").write_text("rules:\n  - id: x\n    title: [non fermé\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"casse.yaml: invalid YAML \(line \d+\)"):
        load_rule_dir(tmp_path, default_catalogue())


def test_an_id_defined_in_two_files_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", [VALID])
    write(tmp_path, "b.yaml", [VALID])
    with pytest.raises(RuleFileError) as caught:
        load_rule_dir(tmp_path, default_catalogue())
    assert (caught.value.source, caught.value.rule, caught.value.field) == ("b.yaml", "exemple-depistage", "id")
    assert "already defined in a.yaml" in caught.value.problem


def test_a_file_without_a_rule_list_is_refused(tmp_path: Path) -> None:
    (tmp_path / "vide.yaml").write_text("title: pas de règles\n", encoding="utf-8")
    with pytest.raises(RuleFileError, match="vide.yaml: expected a list of rules"):
        load_rule_dir(tmp_path, default_catalogue())


def test_a_bad_catalogue_is_refused_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump({"acts": [{"code": "x y", "label": "Espace", "kind": "vaccination"}]}), "utf-8")
    with pytest.raises(RuleFileError) as caught:
        load_catalogue(path)
    assert (caught.value.source, caught.value.field) == ("catalogue.yaml", "acts[0].code")


def test_merging_replaces_by_id_adds_and_withdraws() -> None:
    base = default_rules()
    replacement = variant(id="depistage-cancer-sein", version="2026.1", schedule={
        "kind": "recurring", "intervals_months": [12], "grace_months": 3})
    merged = merge(base, [("region", [replacement, VALID, {"withdraw": "hpv", "reason": "campagne locale"}])],
                   default_catalogue())
    ids = [rule.id for rule in merged]
    assert ids.index("depistage-cancer-sein") == [rule.id for rule in base].index("depistage-cancer-sein")
    assert merged.get("depistage-cancer-sein").version == "2026.1"
    assert ids[-1] == "exemple-depistage" and "hpv" not in ids
    assert merged.origins["exemple-depistage"] == "plugin region"
    assert merged.withdrawn == {"hpv": "plugin region: campagne locale"}


def test_a_bad_contribution_is_refused_whole_and_the_others_still_apply() -> None:
    bad = variant(id="regle-cassee", satisfied_by=["inconnu"])
    merged = merge(default_rules(), [("cassee", [VALID | {"id": "bonne"}, bad]), ("autre", [VALID])],
                   default_catalogue())
    ids = {rule.id for rule in merged}
    assert "bonne" not in ids and "regle-cassee" not in ids and "exemple-depistage" in ids
    [error] = merged.refused
    assert (error.source, error.rule, error.field) == ("plugin cassee", "regle-cassee", "satisfied_by[0]")


def test_rule_files_live_in_the_package() -> None:
    assert sorted(path.name for path in RULES_DIR.glob("*.yaml")) == ["bilans.yaml", "calendrier-2025.yaml", "depistages.yaml",
                                                                        "vaccinations.yaml"]
