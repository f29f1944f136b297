"""One module per schema revision (Alembic), oldest first: ``0001_skeleton`` … the newest."""
