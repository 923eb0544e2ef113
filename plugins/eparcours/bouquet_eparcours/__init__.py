"""bouquet-eparcours: regional care-coordination pathways (e-parcours), published by regions as plugins."""

from bouquet import Action, hookimpl

__version__ = "0.1.0"


@hookimpl
def bouquet_actions() -> list[Action]:
    return [
        Action("eparcours.include", "Inclure un patient dans un parcours"),
        Action("eparcours.task.schedule", "Planifier et réaffecter les tâches d'un parcours", secretary=True),
        Action("eparcours.task.complete", "Réaliser une étape clinique d'un parcours"),
    ]
