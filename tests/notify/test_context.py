"""The service skeleton: one NotifyContext, built once, used by the app, worker and manage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.core.config import ConfigError, ServiceSettings
from services.core.service import CONTEXT_KEY, ServiceContext, ServiceDatabase
from services.notify.app import create_app
from services.notify.config import NotifySettings
from services.notify.context import NotifyContext, build_context
from services.notify.worker import build_worker
from tests.notify.conftest import NotifyDb
from tests.support.tokens import TokenFactory

ROOT = Path(__file__).resolve().parents[2]


def context_for(db: NotifyDb, settings: NotifySettings) -> NotifyContext:
    return build_context(
        ServiceSettings(service="notify", database_url=db.url),
        settings,
        database=ServiceDatabase(db.engine, db.sessions),
        verifier=TokenFactory().verifier(),
    )


def test_the_app_and_the_worker_share_one_context(
    sqlite_db: NotifyDb, notify_settings: NotifySettings
) -> None:
    ctx = context_for(sqlite_db, notify_settings)
    assert isinstance(ctx, ServiceContext) and ctx.notify is notify_settings
    app = create_app(ctx=ctx)
    assert app.extensions[CONTEXT_KEY] is ctx
    worker = build_worker(ctx)
    assert worker.dispatcher.sessions is ctx.sessions
    assert worker.dispatcher.settings is notify_settings


def test_building_the_context_refuses_the_dev_outbox_in_production(sqlite_db: NotifyDb) -> None:
    with pytest.raises(ConfigError, match="dev outbox"):
        context_for(sqlite_db, NotifySettings(portal_env="production"))


def test_the_worker_never_loads_the_web_app() -> None:
    probe = (
        "import sys, services.notify.worker, services.notify.manage; "
        "print(sorted(m for m in sys.modules if m in "
        "('services.notify.app', 'services.notify.api')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
