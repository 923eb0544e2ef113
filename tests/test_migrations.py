"""The migrations build exactly the schema the models describe, for the core and every installed
plugin, on both databases: a column added to a model without its migration fails here.

The comparison runs in a fresh interpreter: SQLModel's metadata is process-wide, and other tests
install throw-away plugins whose tables would otherwise be counted."""

import subprocess
import sys

COMPARE = """
import sys
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel
from bouquet.models import import_models
from bouquet.plugins import Plugins

import_models(Plugins())
engine = create_engine(sys.argv[1])
with engine.connect() as connection:
    for difference in compare_metadata(MigrationContext.configure(connection), SQLModel.metadata):
        print(difference)
engine.dispose()
"""


def test_migrated_schema_matches_the_models(database_url):
    done = subprocess.run([sys.executable, "-c", COMPARE, database_url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
