"""The vendor API's OpenAPI 3.1 document, written by hand next to the code it describes (a test keeps them in step)."""

from __future__ import annotations

from typing import Any

from bouquet_catalog import images, referencing
from bouquet_catalog.submissions import MAX
from bouquet_catalog.vocabulary import (
    CATEGORIES,
    CE_CLASSES,
    CONFORMITIES,
    PROFESSIONS,
    REGIONS,
)
from bouquet_catalog.workflow import LABELS

BASE = "/p/catalog/api"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _json(_ref("Error"), "Données invalides : `errors` donne un message en français par champ."),
    "401": _json(_ref("Error"), "Jeton absent, inconnu, expiré ou révoqué."),
    "403": _json(_ref("Error"), "Jeton sans la portée `catalog.submit`, ou client d'aucun éditeur."),
}
ID = [{"name": "solution_id", "in": "path", "required": True, "schema": {"type": "integer"}}]


def document(server: str) -> dict[str, Any]:
    image = {"type": "object", "required": ["data"], "properties": {"data": {
        "type": "string", "contentEncoding": "base64",
        "description": f"PNG, JPEG ou WebP, {images.MAX_BYTES // 1024} Kio au plus"}}}
    submission = {
        "type": "object", "required": ["name", "category", "version", "description", "professions", "regions"],
        "properties": {
            "name": {"type": "string", "maxLength": MAX["name"]},
            "category": {"type": "string", "enum": list(CATEGORIES), "description": "; ".join(f"{k} : {v}" for k, v in CATEGORIES.items())},
            "version": {"type": "string", "maxLength": MAX["version"]},
            "description": {"type": "string", "maxLength": MAX["description"],
                            "description": "Texte simple, paragraphes séparés par une ligne vide ; aucune balise HTML."},
            "professions": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": list(PROFESSIONS)}},
            "regions": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": list(REGIONS)},
                        "description": "FR pour toute la France, sinon codes INSEE des régions"},
            "claims": {"type": "array", "items": _ref("Claim")},
            "segur": {"type": ["object", "null"], "description": "Obligatoire avec la conformité « segur » : le référencement Ségur structuré",
                      "properties": {
                          "couloir": {"type": "string", "enum": list(referencing.COULOIRS)},
                          "software_type": {"type": "string", "enum": list(referencing.SOFTWARE_TYPES)},
                          "wave": {"type": "string", "enum": list(referencing.WAVES)},
                          "dsr_version": {"type": "string", "description": "Version du DSR suivie"},
                          "software_version": {"type": "string", "description": "Version du logiciel référencée"},
                          "referenced_on": {"type": "string", "format": "date"},
                          "expires_on": {"type": "string", "format": "date"}}},
            "website": {"type": ["string", "null"], "format": "uri"},
            "launch_url": {"type": ["string", "null"], "format": "uri",
                           "description": "Adresse ouverte par « Ouvrir » (lancement SMART avec iss et launch)"},
            "redirect_uris": {"type": "array", "items": {"type": "string", "format": "uri"}, "maxItems": 5},
            "jwks": {"type": ["object", "null"], "description": "Clés publiques : le client s'authentifiera par private_key_jwt"},
            "logo": image,
            "screenshots": {"type": "array", "maxItems": images.MAX_SCREENSHOTS, "items": image},
            "submit": {"type": "boolean", "description": "Soumettre au référencement dans la foulée"},
        },
    }
    claim = {"type": "object", "required": ["code", "evidence"], "properties": {
        "code": {"type": "string", "enum": list(CONFORMITIES),
                 "description": "; ".join(f"{k} : {label}" for k, (label, _) in CONFORMITIES.items())},
        "detail": {"type": "string", "description": f"Classe CE ({', '.join(CE_CLASSES)}) ; certificat HDS ; agrément CNDA (ApCV) ; volets CI-SIS ; code LPPR"},
        "evidence": {"type": "string", "maxLength": MAX["evidence"]},
        "status": {"type": "string", "enum": ["declared", "verified", "not_verified"], "readOnly": True},
    }}
    solution = {"type": "object", "properties": {
        "id": {"type": "integer"}, "status": {"type": "string", "enum": list(LABELS)}, "status_label": {"type": "string"},
        "change_status": {"type": ["string", "null"], "enum": [*LABELS, None]}, "name": {"type": "string"},
        "referenced": {"type": "boolean"}, "oidc_client_id": {"type": ["string", "null"]},
        "content": {"type": "object"}, "url": {"type": "string"},
        "history": {"type": "array", "items": {"type": "object"}}}}
    write_body = {"required": True, "content": {"application/json": {"schema": _ref("Submission")}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Bouquet — API éditeurs du catalogue", "version": "1.0.0",
                 "description": "Déposer et mettre à jour les solutions d'un éditeur. Jeton : client credentials, "
                                "portée `catalog.submit`, client créé dans l'espace éditeur."},
        "servers": [{"url": server}],
        "components": {
            "securitySchemes": {"bouquet": {"type": "oauth2", "flows": {"clientCredentials": {
                "tokenUrl": f"{server}/token", "scopes": {"catalog.submit": "Déposer des solutions"}}}}},
            "schemas": {"Submission": submission, "Claim": claim, "Solution": solution, "Error": {
                "type": "object", "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                                                 "errors": {"type": "object", "additionalProperties": {"type": "string"}}}}},
        },
        "security": [{"bouquet": ["catalog.submit"]}],
        "paths": {
            f"{BASE}/solutions": {
                "get": {"operationId": "listSolutions", "summary": "Les solutions de l'éditeur",
                        "responses": {"200": _json({"type": "object", "properties": {"solutions": {"type": "array", "items": _ref("Solution")}}}, "Liste"), **ERRORS}},
                "post": {"operationId": "createSolution", "summary": "Déposer une solution (brouillon, ou soumise avec `submit`)",
                         "requestBody": write_body, "responses": {"201": _json(_ref("Solution"), "Créée"), **ERRORS}},
            },
            f"{BASE}/solutions/{{solution_id}}": {
                "parameters": ID,
                "get": {"operationId": "getSolution", "summary": "Une solution, son état et l'historique de l'instruction",
                        "responses": {"200": _json(_ref("Solution"), "La solution"), "404": _json(_ref("Error"), "Inconnue"), **ERRORS}},
                "put": {"operationId": "updateSolution",
                        "summary": "Modifier une solution (une solution référencée repasse par l'instruction avant publication)",
                        "requestBody": write_body, "responses": {
                            "200": _json(_ref("Solution"), "Modifiée"), "404": _json(_ref("Error"), "Inconnue"),
                            "409": _json(_ref("Error"), "En cours d'instruction : modification impossible"), **ERRORS}},
            },
            f"{BASE}/solutions/{{solution_id}}/submit": {
                "parameters": ID,
                "post": {"operationId": "submitSolution", "summary": "Soumettre au référencement",
                         "responses": {"200": _json(_ref("Solution"), "Soumise"), "404": _json(_ref("Error"), "Inconnue"),
                                       "409": _json(_ref("Error"), "Transition impossible depuis cet état"), **ERRORS}},
            },
            f"{BASE}/openapi.json": {
                "get": {"operationId": "openapi", "summary": "Ce document", "security": [],
                        "responses": {"200": {"description": "OpenAPI 3.1"}}},
            },
        },
    }
