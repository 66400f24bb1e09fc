"""Alembic's environment: the same settings (and password file) as the app."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from app.db import Base
from app.settings import Settings
from sqlalchemy import create_engine

if context.config.config_file_name is not None:
    fileConfig(context.config.config_file_name)

with create_engine(Settings().url()).connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
