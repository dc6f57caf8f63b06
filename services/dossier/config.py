"""The dossier service's own settings, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from services.core.config import VAR_DIR, ConfigError, env_float, env_int

DEFAULT_CALENDAR_FILE = Path(__file__).parent / "data" / "working_calendar.json"
MB = 1024 * 1024


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    return env_int(env, name, default, minimum=1)


def _non_negative_int(env: Mapping[str, str], name: str, default: int) -> int:
    return env_int(env, name, default)


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    return env_float(env, name, default, strict=True)


@dataclass(frozen=True)
class DossierSettings:
    """Limits and locations of the dossier service; every one has a safe default."""

    blob_dir: Path = VAR_DIR / "blobs" / "dossier"
    max_file_bytes: int = 10 * MB
    max_dossier_bytes: int = 50 * MB
    max_files_per_dossier: int = 50
    catalog_url: str = "http://127.0.0.1:8002"
    catalog_timeout: float = 5.0
    calendar_file: Path = DEFAULT_CALENDAR_FILE
    overdue_scan_interval: float = 300.0
    overdue_batch_size: int = 200
    apology_extension_days: int = 3
    lookup_rate_limit: str = "60/minute"
    # How many proxies (the gateway) append to X-Forwarded-For; 0 = use the peer address.
    trusted_proxies: int = 0
    max_per_page: int = 100

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DossierSettings:
        env = os.environ if env is None else env
        d = cls()
        max_file = _positive_int(env, "DOSSIER_MAX_FILE_BYTES", d.max_file_bytes)
        max_dossier = _positive_int(env, "DOSSIER_MAX_DOSSIER_BYTES", d.max_dossier_bytes)
        if max_dossier < max_file:
            raise ConfigError("DOSSIER_MAX_DOSSIER_BYTES must be at least DOSSIER_MAX_FILE_BYTES")
        return cls(
            blob_dir=Path(env.get("DOSSIER_BLOB_DIR") or d.blob_dir),
            max_file_bytes=max_file,
            max_dossier_bytes=max_dossier,
            max_files_per_dossier=_positive_int(
                env, "DOSSIER_MAX_FILES_PER_DOSSIER", d.max_files_per_dossier
            ),
            catalog_url=(env.get("CATALOG_URL") or d.catalog_url).rstrip("/"),
            catalog_timeout=_positive_float(env, "CATALOG_TIMEOUT", d.catalog_timeout),
            calendar_file=Path(env.get("DOSSIER_CALENDAR_FILE") or d.calendar_file),
            overdue_scan_interval=_positive_float(
                env, "DOSSIER_OVERDUE_SCAN_INTERVAL", d.overdue_scan_interval
            ),
            overdue_batch_size=_positive_int(
                env, "DOSSIER_OVERDUE_BATCH_SIZE", d.overdue_batch_size
            ),
            apology_extension_days=_positive_int(
                env, "DOSSIER_APOLOGY_EXTENSION_DAYS", d.apology_extension_days
            ),
            lookup_rate_limit=env.get("DOSSIER_LOOKUP_RATE_LIMIT", d.lookup_rate_limit).strip(),
            max_per_page=_positive_int(env, "DOSSIER_MAX_PER_PAGE", d.max_per_page),
            trusted_proxies=_non_negative_int(env, "DOSSIER_TRUSTED_PROXIES", d.trusted_proxies),
        )
