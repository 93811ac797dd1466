"""Browser-test plumbing: Debian's Chromium driven by Playwright's sync API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

try:
    from playwright import sync_api
except ImportError:  # a missing package, or a broken install (its greenlet build)
    sync_api = None  # type: ignore[assignment]

CHROMIUM = "/usr/bin/chromium"  # Debian's package; `playwright install` is never run
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture
def browser() -> Iterator[Any]:
    # Started after the data fixtures and stopped before the database is flushed: while the
    # sync API runs, Django would see an event loop and refuse ORM calls in this thread.
    if sync_api is None:
        pytest.skip("needs playwright (playwright==1.65.2 in requirements-dev.txt)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def overflow(page: Any) -> int:
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )
