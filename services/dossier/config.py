"""The dossier service's own settings, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from services.core.config import VAR_DIR, ConfigError, env_float, env_int

DEFAULT_CALENDAR_FILE = Path(__file__).parent / "data" / "working_calendar.json"
MB = 1024 * 1024


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
        max_file = env_int(env, "DOSSIER_MAX_FILE_BYTES", d.max_file_bytes, minimum=1)
        max_dossier = env_int(env, "DOSSIER_MAX_DOSSIER_BYTES", d.max_dossier_bytes, minimum=1)
        if max_dossier < max_file:
            raise ConfigError("DOSSIER_MAX_DOSSIER_BYTES must be at least DOSSIER_MAX_FILE_BYTES")
        return cls(
            blob_dir=Path(env.get("DOSSIER_BLOB_DIR") or d.blob_dir),
            max_file_bytes=max_file,
            max_dossier_bytes=max_dossier,
            max_files_per_dossier=env_int(
                env, "DOSSIER_MAX_FILES_PER_DOSSIER", d.max_files_per_dossier, minimum=1
            ),
            catalog_url=(env.get("CATALOG_URL") or d.catalog_url).rstrip("/"),
            catalog_timeout=env_float(env, "CATALOG_TIMEOUT", d.catalog_timeout, strict=True),
            calendar_file=Path(env.get("DOSSIER_CALENDAR_FILE") or d.calendar_file),
            overdue_scan_interval=env_float(
                env, "DOSSIER_OVERDUE_SCAN_INTERVAL", d.overdue_scan_interval, strict=True
            ),
            overdue_batch_size=env_int(
                env, "DOSSIER_OVERDUE_BATCH_SIZE", d.overdue_batch_size, minimum=1
            ),
            apology_extension_days=env_int(
                env, "DOSSIER_APOLOGY_EXTENSION_DAYS", d.apology_extension_days, minimum=1
            ),
            lookup_rate_limit=env.get("DOSSIER_LOOKUP_RATE_LIMIT", d.lookup_rate_limit).strip(),
            max_per_page=env_int(env, "DOSSIER_MAX_PER_PAGE", d.max_per_page, minimum=1),
            trusted_proxies=env_int(env, "DOSSIER_TRUSTED_PROXIES", d.trusted_proxies),
        )
