"""The Spotify page in Chromium: no sideways scrolling on a phone, errors where the form is."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from spotify_sync.models import SpotifyConnection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"  # Debian's package, as in tests/browser
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1280, "height": 800}}


def test_the_page_fits_and_shows_upload_errors(
    live_server: Any, owner: Any, connected: SpotifyConnection
) -> None:
    client = Client()
    client.force_login(owner)
    session = client.cookies["sessionid"].value
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for viewport in VIEWPORTS.values():
            context = chromium.new_context(viewport=viewport)
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            page = context.new_page()
            page.goto(f"{live_server.url}/spotify/")
            assert page.get_by_test_id("spotify-status").inner_text().startswith("Connected")
            assert page.get_by_test_id("sync-status").inner_text() == "Succeeded"
            page.set_input_files(
                "input[type=file]",
                files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hi"}],
            )
            page.click("form[data-testid=upload-form] button")
            errors = page.get_by_test_id("upload-errors")
            assert "notes.txt: not a .json or .zip file" in errors.inner_text()
            assert (
                page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                == 0
            )
            assert page.locator('.site-nav a[aria-current="page"]').inner_text() == "Spotify"
            context.close()
        chromium.close()
