"""Region X: one pathway, given as Python data rather than a file."""

from bouquet import hookimpl

HEART_FAILURE = {
    "id": "insuffisance-cardiaque",
    "version": "1.0",
    "title": "Suivi de l'insuffisance cardiaque (région X)",
    "regions": ["53"],
    "reference_date_label": "Date de sortie d'hospitalisation",
    "roles": [
        {"id": "coordinator", "label": "Coordinateur"},
        {"id": "infirmier", "label": "Infirmier", "professions": ["60"]},
    ],
    "steps": [
        {"id": "poids", "title": "Pesée et recherche d'œdèmes", "role": "infirmier",
         "start": {"after": "inclusion", "offset": "P7D"}, "recurrence": {"every": "P7D", "count": 8},
         "records": [{"id": "poids", "label": "Poids", "kind": "quantity", "unit": "kg", "min": 20, "max": 300,
                      "required": True}]},
    ],
}


@hookimpl
def eparcours_pathways():
    return [HEART_FAILURE]
