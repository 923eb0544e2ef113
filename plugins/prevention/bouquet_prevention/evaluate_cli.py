"""`bouquet prevention evaluate FILE --on YYYY-MM-DD`: where every rule stands for the patient of a
FHIR R4 Bundle (a Patient with its INS; Immunization, Procedure and Condition resources), as JSON.

The same engine as the patient page and CDS Hooks (the rules in force with the installed plugins'
contributions, the campaign seasons of `data/seasons/`), and the same reading of the resources as
the CDS Hooks service: the Bundle's resources are checked as a patient-view prefetch would be. For
vendors checking their integration, and for tests. Errors name the entry at fault and exit with 2.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import click

from bouquet.api.plugins import Plugins
from bouquet.api.settings import load_settings
from bouquet_prevention.catalogue import ACT_SYSTEM, Catalogue, default_catalogue
from bouquet_prevention.cds_request import CdsRequestError, parse_patient_view
from bouquet_prevention.engine import Outcome
from bouquet_prevention.hooks import engine_for
from bouquet_prevention.patient_status import outcome_json
from bouquet_prevention.pregnancy import due_from_start, gestational_age, resolve

__all__ = ["add_commands", "evaluate_bundle"]

CVX = "http://hl7.org/fhir/sid/cvx"
_KEYS = {"Immunization": "immunizations", "Procedure": "procedures", "Condition": "conditions"}
_PATH = re.compile(r"^prefetch\.(immunizations|procedures|conditions)\.entry\[(\d+)\]")


class BundleError(ValueError):
    """The Bundle cannot be evaluated: `field` names the entry (`entry[3].resource.occurrenceDateTime`)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field} : {reason}")
        self.field, self.reason = field, reason


def evaluate_bundle(bundle: Any, on: date, plugins: Any, catalogue: Catalogue | None = None) -> dict[str, Any]:
    """The JSON answer for a FHIR R4 Bundle: the patient's facts and every rule's outcome on `on`."""
    catalogue = catalogue or default_catalogue()
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BundleError("resourceType", "un Bundle FHIR R4 est attendu.")
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        raise BundleError("entry", "« entry » doit être une liste de ressources.")
    patient, origin = None, {}
    grouped: dict[str, list[Any]] = {key: [] for key in _KEYS.values()}
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind == "Patient":
            if patient is not None:
                raise BundleError(f"entry[{index}]", "le Bundle doit contenir un seul Patient.")
            patient = resource
            origin["patient"] = index
        elif kind in _KEYS:
            key = _KEYS[kind]
            origin[f"{key}.{len(grouped[key])}"] = index
            grouped[key].append({"resource": resource})
        elif not isinstance(kind, str):
            raise BundleError(f"entry[{index}].resource", "chaque entrée doit contenir une ressource FHIR.")
    if patient is None:
        raise BundleError("entry", "le Bundle ne contient pas de ressource Patient.")
    patient_id = patient.get("id") if isinstance(patient.get("id"), str) and patient.get("id") else "patient"
    body = {"hookInstance": "00000000-0000-4000-8000-000000000000", "hook": "patient-view",
            "context": {"userId": "cli", "patientId": patient_id},
            "prefetch": {"patient": {**patient, "id": patient_id},
                         **{key: {"resourceType": "Bundle", "type": "searchset", "entry": items}
                            for key, items in grouped.items()}}}
    try:
        view = parse_patient_view(body, catalogue)
    except CdsRequestError as exc:
        raise BundleError(_where(exc.field, origin), exc.reason) from None
    conditions, start = resolve([view.reported], on)  # a pregnancy's term: its Condition's onset
    facts = replace(view.facts, conditions=conditions, pregnancy_start=start)
    outcomes = engine_for(plugins).evaluate(facts, view.acts, on)
    pregnancy = {"start": start.isoformat(), "expected_delivery": due_from_start(start).isoformat(),
                 "weeks": list(gestational_age(start, on))} if start else None
    return {
        "on": on.isoformat(),
        "patient": {"birth_date": facts.birth_date.isoformat(), "sex": facts.sex,
                    "conditions": sorted(facts.conditions),
                    **({"pregnancy": pregnancy} if pregnancy else {})},
        "acts": [{"code": act.code, "performed_on": act.performed_on.isoformat()}
                 for act in sorted(view.acts, key=lambda a: (a.performed_on, a.code))],
        "skipped_resources": view.skipped,
        "outcomes": [_outcome(outcome, catalogue) for outcome in outcomes],
    }


def _outcome(outcome: Outcome, catalogue: Catalogue) -> dict[str, Any]:
    satisfied_by = []
    for requirement in outcome.rule.satisfied_by:
        act = catalogue.acts[requirement.act]
        cvx = [coding.code for coding in act.codings if coding.system == CVX]
        satisfied_by.append({"act": act.code, "system": ACT_SYSTEM, **({"cvx": cvx} if act.kind == "vaccination" else {})})
    return {**outcome_json(outcome), "satisfied_by": satisfied_by}


def _where(field: str, origin: dict[str, int]) -> str:
    """A patient-view path as the Bundle's: prefetch.immunizations.entry[1]… → entry[4]…"""
    if field.startswith("prefetch.patient"):
        return f"entry[{origin.get('patient', 0)}].resource" + field.removeprefix("prefetch.patient")
    match = _PATH.match(field)
    if match and (index := origin.get(f"{match.group(1)}.{match.group(2)}")) is not None:
        return f"entry[{index}]" + field[match.end():]
    return field


def add_commands(prevention: click.Group) -> None:
    """Add `evaluate` to the `bouquet prevention` group."""

    @prevention.command("evaluate")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--on", "on", required=True, help="The evaluation date, YYYY-MM-DD.")
    def evaluate_command(file: Path, on: str) -> None:
        """Print, as JSON, where every prevention rule stands for the patient of a FHIR R4 Bundle."""
        try:
            day = date.fromisoformat(on)
        except ValueError:
            raise click.BadParameter(f"« {on} » n'est pas une date AAAA-MM-JJ.", param_hint="--on") from None
        try:
            bundle = json.loads(file.read_text(encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{file.name} : JSON illisible ({exc}).") from None
        try:
            answer = evaluate_bundle(bundle, day, Plugins(load_settings().plugin_names))
        except BundleError as exc:
            raise click.UsageError(f"{file.name}, {exc.field} : {exc.reason}") from None
        click.echo(json.dumps(answer, ensure_ascii=False, indent=2))
