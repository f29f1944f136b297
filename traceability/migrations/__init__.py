"""Alembic migrations of the records database, run by ``traceability.migrate.upgrade``."""
