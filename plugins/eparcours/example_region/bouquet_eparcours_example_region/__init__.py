"""An example regional package for e-parcours: type 2 diabetes follow-up and follow-up after a stroke.

The pathways are data (`pathways/*.yaml`); each step cites the recommendation it comes from and
says whether that citation was checked. Installing this package is all it takes for e-parcours
to offer them: it implements the `eparcours_pathways` hook and imports nothing from e-parcours.
"""

from pathlib import Path

from bouquet import hookimpl

__version__ = "0.1.0"

PATHWAYS = Path(__file__).parent / "pathways"


@hookimpl
def eparcours_pathways() -> list[Path]:
    return [PATHWAYS]
