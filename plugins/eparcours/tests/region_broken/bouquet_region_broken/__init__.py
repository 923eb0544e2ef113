"""A region package with a typo in one of its pathway files."""

from pathlib import Path

from bouquet import hookimpl


@hookimpl
def eparcours_pathways():
    return [Path(__file__).parent / "pathways"]
