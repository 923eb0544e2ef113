"""Alembic environment: runs on the engine handed over by `bouquet.migrations`."""

from alembic import context
from sqlmodel import SQLModel

from bouquet.models import import_models

config = context.config
import_models(config.attributes.get("plugins"))

with config.attributes["engine"].connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
