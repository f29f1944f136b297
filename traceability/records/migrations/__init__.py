"""Alembic migrations of the records database, run by ``traceability.records.migrate.upgrade``."""
