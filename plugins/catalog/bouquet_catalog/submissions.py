"""What a vendor submits, checked the same way whether it comes from the form or the API.

`validate(values)` takes plain Python values (lists for multiple choices, a dict of claims) and
returns the content to store, or raises `InvalidSubmission` with one French message per field.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bouquet.api.oauth import uri_problem
from bouquet.api.web import Form
from bouquet_catalog import referencing
from bouquet_catalog.vocabulary import (
    CATEGORIES,
    CE_CLASSES,
    CONFORMITIES,
    PROFESSIONS,
    REGIONS,
)

MAX = {"name": 120, "version": 40, "description": 5000, "detail": 100, "evidence": 500, "url": 500}
MAX_REDIRECT_URIS = 5
# A description is plain text: anything that looks like a tag is refused, not silently stripped.
_TAG = re.compile(r"<\s*[A-Za-z!/?]")


class InvalidSubmission(ValueError):
    """Some fields are invalid; `errors` maps each field to its French message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _text(values: dict[str, Any], name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def _list(values: dict[str, Any], name: str) -> list[str] | None:
    value = values.get(name) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return None
    return list(dict.fromkeys(item.strip() for item in value if item.strip()))


def validate(values: dict[str, Any]) -> dict[str, Any]:
    """The content of a revision, or InvalidSubmission."""
    errors: dict[str, str] = {}
    name, version, description = _text(values, "name"), _text(values, "version"), _text(values, "description")
    if not name:
        errors["name"] = "Nom : indiquez le nom de la solution."
    elif len(name) > MAX["name"]:
        errors["name"] = f"Nom : {MAX['name']} caractères au plus."
    category = _text(values, "category")
    if category not in CATEGORIES:
        errors["category"] = ("Catégorie : choisissez une catégorie." if not category
                              else f"Catégorie : « {category[:40]} » n'est pas une catégorie connue.")
    if not version:
        errors["version"] = "Version : indiquez la version proposée."
    elif len(version) > MAX["version"]:
        errors["version"] = f"Version : {MAX['version']} caractères au plus."
    if not description:
        errors["description"] = "Description : décrivez la solution en quelques phrases."
    elif len(description) > MAX["description"]:
        errors["description"] = f"Description : {MAX['description']} caractères au plus."
    elif _TAG.search(description):
        errors["description"] = ("Description : le texte ne doit pas contenir de balises HTML (comme <script>) ; "
                                 "écrivez du texte simple, les paragraphes séparés par une ligne vide.")
    professions = _list(values, "professions")
    if professions is None or any(code not in PROFESSIONS for code in professions):
        errors["professions"] = "Professions : une ou plusieurs professions sont inconnues."
    elif not professions:
        errors["professions"] = "Professions : choisissez au moins une profession."
    regions = _list(values, "regions")
    if regions is None or any(code not in REGIONS for code in regions):
        errors["regions"] = "Régions : une ou plusieurs régions sont inconnues."
    elif not regions:
        errors["regions"] = "Régions : choisissez au moins une région, ou « Toute la France »."
    elif "FR" in regions:
        regions = ["FR"]
    claims = _claims(values.get("claims"), errors)
    website = _text(values, "website")
    if website and (not website.startswith("https://") or len(website) > MAX["url"]):
        errors["website"] = "Site de présentation : indiquez une adresse https://…"
    launch_url = _text(values, "launch_url")
    redirect_uris = _list(values, "redirect_uris")
    if launch_url and (len(launch_url) > MAX["url"] or (problem := uri_problem(launch_url))):
        errors["launch_url"] = "Adresse de lancement : " + (problem if launch_url and len(launch_url) <= MAX["url"]
                                                            else "adresse trop longue.")
    if redirect_uris is None:
        errors["redirect_uris"] = "Adresses de retour : une liste d'adresses est attendue."
    else:
        if len(redirect_uris) > MAX_REDIRECT_URIS:
            errors["redirect_uris"] = f"Adresses de retour : {MAX_REDIRECT_URIS} au plus."
        for uri in redirect_uris:
            if len(uri) > MAX["url"] or (problem := uri_problem(uri, native=False)):
                errors["redirect_uris"] = "Adresses de retour : " + (problem if len(uri) <= MAX["url"] else "adresse trop longue.")
                break
        if launch_url and not redirect_uris and "redirect_uris" not in errors:
            errors["redirect_uris"] = ("Adresses de retour : indiquez au moins une adresse de retour, "
                                       "nécessaire pour ouvrir la solution avec Pro Santé Connect.")
        if redirect_uris and not launch_url and "launch_url" not in errors:
            errors["launch_url"] = "Adresse de lancement : indiquez-la, ou retirez les adresses de retour."
    jwks = _jwks(values.get("jwks"), errors)
    segur = None
    if "segur" in claims:  # the Ségur referencing is claimed with its structure, not free text
        segur, segur_errors = referencing.check(values.get("segur"))
        errors.update(segur_errors)
    if errors:
        raise InvalidSubmission(errors)
    return {"name": name, "category": category, "version": version, "description": description,
            "professions": professions, "regions": regions, "claims": claims, "segur": segur, "website": website or None,
            "launch_url": launch_url or None, "redirect_uris": redirect_uris if launch_url else [],
            "jwks": jwks if launch_url else None}


def _claims(raw: Any, errors: dict[str, str]) -> dict[str, dict[str, str]]:
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        errors["claims"] = "Conformités : format inattendu."
        return {}
    claims: dict[str, dict[str, str]] = {}
    for code, claim in raw.items():
        if code not in CONFORMITIES:
            errors["claims"] = f"Conformités : « {str(code)[:40]} » n'est pas une conformité connue."
            continue
        label, detail_label = CONFORMITIES[code]
        claim = claim if isinstance(claim, dict) else {}
        detail = str(claim.get("detail") or "").strip()
        evidence = str(claim.get("evidence") or "").strip()
        if not evidence:
            errors[f"claim_{code}"] = f"{label} : indiquez la preuve (numéro d'attestation, lien vers le certificat…)."
        elif len(evidence) > MAX["evidence"]:
            errors[f"claim_{code}"] = f"{label} : la preuve compte {MAX['evidence']} caractères au plus."
        elif code == "ce" and detail not in CE_CLASSES:
            errors[f"claim_{code}"] = f"{label} : indiquez la classe du dispositif (I, IIa, IIb ou III)."
        elif detail_label and code != "ce" and not detail:
            errors[f"claim_{code}"] = f"{label} : précisez « {detail_label} »."
        elif len(detail) > MAX["detail"]:
            errors[f"claim_{code}"] = f"{label} : la précision compte {MAX['detail']} caractères au plus."
        claims[code] = {"detail": detail, "evidence": evidence, "status": "declared"}
    return claims


def _jwks(raw: Any, errors: dict[str, str]) -> dict[str, Any] | None:
    if raw in (None, "", {}):
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            errors["jwks"] = "Clés publiques (JWKS) : ce n'est pas du JSON valide."
            return None
    keys = raw.get("keys") if isinstance(raw, dict) else None
    if not isinstance(keys, list) or not keys or not all(isinstance(key, dict) and key.get("kty") for key in keys):
        errors["jwks"] = "Clés publiques (JWKS) : un objet {\"keys\": [...]} est attendu."
    elif any("d" in key or "k" in key for key in keys):
        errors["jwks"] = "Clés publiques (JWKS) : ce jeu contient une clé privée ; ne transmettez que les clés publiques."
    else:
        return {"keys": keys}
    return None


def from_form(form: Form) -> dict[str, Any]:
    """The values of the vendor form (read by `web.vendor_form`) as `validate` takes them."""
    claims = {code: {"detail": str(form.get(f"claim_{code}_detail") or ""),
                     "evidence": str(form.get(f"claim_{code}_evidence") or "")}
              for code in CONFORMITIES if form.get(f"claim_{code}")}
    text = {name: str(form.get(name) or "") for name in
            ("name", "category", "version", "description", "website", "launch_url", "jwks")}
    segur = {name: str(form.get(f"segur_{name}") or "") for name in referencing.FIELDS}
    # What was typed for every conformity, ticked or not, so that a refused form shows it again.
    typed = {code: {"detail": str(form.get(f"claim_{code}_detail") or ""),
                    "evidence": str(form.get(f"claim_{code}_evidence") or "")} for code in CONFORMITIES}
    return {**text, "segur": segur, "professions": [str(v) for v in form.get("professions", [])],
            "regions": [str(v) for v in form.get("regions", [])], "claims": claims, "claims_typed": typed,
            "redirect_uris": [line.strip() for line in str(form.get("redirect_uris") or "").splitlines() if line.strip()]}


def from_api(body: Any) -> dict[str, Any]:
    """The values of an API request body (JSON) as `validate` takes them: `claims` is a list there."""
    if not isinstance(body, dict):
        raise InvalidSubmission({"body": "Le corps de la requête doit être un objet JSON."})
    values = dict(body)
    claims = body.get("claims") or []
    if not isinstance(claims, list) or not all(isinstance(c, dict) for c in claims):
        raise InvalidSubmission({"claims": "Conformités : une liste d'objets {code, detail, evidence} est attendue."})
    values["claims"] = {str(claim.get("code")): claim for claim in claims}
    return values


def to_form(content: dict[str, Any]) -> dict[str, Any]:
    """A stored content as the form shows it again (for editing)."""
    values = dict(content)
    values["redirect_uris"] = "\n".join(content.get("redirect_uris") or [])
    values["jwks"] = json.dumps(content["jwks"], indent=1) if content.get("jwks") else ""
    return fields_of(values)


def fields_of(values: dict[str, Any]) -> dict[str, Any]:
    """`values` (a content, or `from_form`'s) plus each nested value under the name of the form field that shows
    it: `segur_<name>`, `claim_<code>_detail`, `claim_<code>_evidence` (what was typed for a claim not ticked too)."""
    fields = dict(values)
    for name, value in (values.get("segur") or {}).items():
        fields[f"segur_{name}"] = value
    claims, typed = values.get("claims") or {}, values.get("claims_typed") or {}
    for code in CONFORMITIES:
        claim = claims.get(code) or typed.get(code) or {}
        fields[f"claim_{code}_detail"] = claim.get("detail") or ""
        fields[f"claim_{code}_evidence"] = claim.get("evidence") or ""
    return fields


def form_errors(errors: dict[str, str]) -> dict[str, str]:
    """`validate`'s errors by the form field that shows them: a claim's under its evidence (the API names the claim)."""
    return {f"{name}_evidence" if name.startswith("claim_") else name: message for name, message in errors.items()}
