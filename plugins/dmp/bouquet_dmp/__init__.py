"""bouquet-dmp: the patient's shared medical record (DMP), read and fed from the portal through IHE MHD."""

from bouquet import Action, hookimpl

__version__ = "0.1.0"


@hookimpl
def bouquet_actions() -> list[Action]:
    return [
        Action("dmp.read", "Consulter le DMP du patient"),
        Action("dmp.upload", "Alimenter le DMP du patient"),
        Action("dmp.emergency_access", "Accéder au DMP en urgence (bris de glace)"),
    ]
