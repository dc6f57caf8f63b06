"""Browser tests: one running portal and one headless Chromium per module.

Chromium is Debian's (/usr/bin/chromium, `.ci/run` installs it); Playwright never
downloads a browser. Screenshots go to $PORTAL_SCREENSHOTS (default var/screenshots).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from harness.journey import PortalClient, Subscriber
from harness.portal import ROOT, PortalDeployment, running_portal
from tests.conftest import IN_CI

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1200, "height": 900}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory, amqp_url: str) -> Iterator[PortalDeployment]:
    with running_portal(tmp_path_factory.mktemp("web-portal"), amqp_url) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = Path(os.environ.get("PORTAL_SCREENSHOTS", ROOT / "var" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=DESKTOP, locale="vi-VN", accept_downloads=True)
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


class Errors:
    """JavaScript errors a page raised; a test asserts there were none."""

    def __init__(self, page: Page) -> None:
        self.items: list[str] = []
        page.on("pageerror", lambda error: self.items.append(str(error)))


def read_otp(context: BrowserContext, base: str, phone: str, seen: set[str]) -> str:
    """The newest OTP sent to `phone`, read from the dev outbox page, not one in `seen`."""
    page = context.new_page()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            page.goto(f"{base}/#/hop-thu-thu-nghiem?to={phone}")
            page.wait_for_selector("main h1")
            items = page.locator(".outbox-item")
            if items.count():
                found = re.search(r"\b(\d{6})\b", items.first.inner_text())
                if found and found.group(1) not in seen:
                    seen.add(found.group(1))
                    return found.group(1)
            time.sleep(0.3)
        raise AssertionError(f"no new OTP for {phone} in the dev outbox")
    finally:
        page.close()


def register_citizen(base: str, person: dict[str, str], password: str) -> None:
    """An account made through the API (for tests about what comes after registering)."""
    subscriber = Subscriber(
        phone=person["phone"],
        citizen_id=person["citizen_id"],
        full_name=person["full_name"],
        date_of_birth=person["date_of_birth"],
    )
    PortalClient(base).register(subscriber, password)
