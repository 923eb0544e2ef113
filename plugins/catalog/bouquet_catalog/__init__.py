"""bouquet-catalog: the catalogue of referenced solutions, registered by vendors, reviewed by the operator, launched with SSO."""

from bouquet import Action, hookimpl

__version__ = "0.1.0"


@hookimpl
def bouquet_actions() -> list[Action]:
    return [
        Action("catalog.browse", "Consulter le catalogue des solutions référencées",
               roles=frozenset({"professional", "secretary", "vendor", "admin"}), secretary=True),
        Action("catalog.submit", "Déposer une solution au référencement", roles=frozenset({"vendor"})),
        Action("catalog.review", "Instruire les demandes de référencement", roles=frozenset({"admin"})),
    ]
