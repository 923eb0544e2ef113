"""bouquet-prevention: personalised prevention alerts for one patient and for a patient list, and a CDS Hooks service."""

from bouquet import Action, hookimpl

__version__ = "0.1.0"


@hookimpl
def bouquet_actions() -> list[Action]:
    return [
        Action("prevention.read", "Consulter les actions de prévention du patient", secretary=True),
        Action("prevention.record", "Enregistrer un acte de prévention"),
    ]
