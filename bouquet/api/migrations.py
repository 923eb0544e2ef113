"""Migrations: a plugin's Alembic scripts run with the core's (`bouquet db upgrade`)."""

from bouquet.migrations import upgrade

__all__ = ["upgrade"]
