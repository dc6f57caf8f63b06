"""The catalog service's own settings, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from services.core.config import ConfigError, env_int


@dataclass(frozen=True)
class CatalogSettings:
    """Limits of the catalogue's HTTP API; every one has a safe default."""

    default_per_page: int = 20
    max_per_page: int = 100
    max_query_length: int = 200
    max_query_words: int = 8
    max_body_bytes: int = 512 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CatalogSettings:
        env = os.environ if env is None else env
        d = cls()
        settings = cls(
            default_per_page=env_int(
                env, "CATALOG_DEFAULT_PER_PAGE", d.default_per_page, minimum=1
            ),
            max_per_page=env_int(env, "CATALOG_MAX_PER_PAGE", d.max_per_page, minimum=1),
            max_query_length=env_int(
                env, "CATALOG_MAX_QUERY_LENGTH", d.max_query_length, minimum=1
            ),
            max_query_words=env_int(env, "CATALOG_MAX_QUERY_WORDS", d.max_query_words, minimum=1),
            max_body_bytes=env_int(env, "CATALOG_MAX_BODY_BYTES", d.max_body_bytes, minimum=1),
        )
        if settings.default_per_page > settings.max_per_page:
            raise ConfigError("CATALOG_DEFAULT_PER_PAGE must not exceed CATALOG_MAX_PER_PAGE")
        return settings
