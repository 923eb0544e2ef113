"""« Logiciel Médical Exemple »: the reference integration of a practice software with Bouquet.

See README.md beside this file and docs/integration.md.
"""

from examples.practice_software.app import Config, create_app

__all__ = ["Config", "create_app"]
