"""The migrations build exactly the schema the models describe, for the core and every installed
plugin, on both databases: a column added to a model without its migration fails here."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

from bouquet.models import import_models
from bouquet.plugins import Plugins


def test_migrated_schema_matches_the_models(database_url):
    import_models(Plugins())
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == []
