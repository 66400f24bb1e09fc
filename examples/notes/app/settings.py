"""Settings from the environment with pydantic-settings; the password also as a `_FILE`.

Kubernetes hands secrets over as files (a Secret volume): `DATABASE_PASSWORD_FILE` names one.
pydantic-settings reads environment variables and `secrets_dir` folders but not `<NAME>_FILE`,
so a small source adds that, the way the official Postgres image's entrypoint does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy import URL


class FileSecrets(PydanticBaseSettingsSource):
    """`<PREFIX><FIELD>_FILE`: the value is the content of that file, without its last newline."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        name = f"{self.config.get('env_prefix', '')}{field_name}_FILE".upper()
        path = os.environ.get(name)
        if path is None:
            return None, field_name, False
        try:
            return Path(path).read_text(encoding="utf-8").removesuffix("\n"), field_name, False
        except OSError as exc:
            raise ValueError(f"{name}: cannot read {path!r}: {exc.strerror}") from None

    def __call__(self) -> dict[str, Any]:
        values = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                values[key] = value
        return values


class Settings(BaseSettings):
    """DATABASE_HOST, DATABASE_PORT, DATABASE_USER, DATABASE_NAME and the required password."""

    model_config = SettingsConfigDict(env_prefix="DATABASE_")

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "notes"
    name: str = "notes"
    password: SecretStr  # required: DATABASE_PASSWORD or DATABASE_PASSWORD_FILE

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, FileSecrets(settings_cls)

    def url(self) -> URL:
        return URL.create(
            "postgresql+psycopg",
            username=self.user,
            password=self.password.get_secret_value(),
            host=self.host,
            port=self.port,
            database=self.name,
        )
