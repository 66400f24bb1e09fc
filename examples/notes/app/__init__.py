"""The notes service: FastAPI on PostgreSQL, with its schema managed by Alembic."""
