"""The cold-start page in headless Chromium: picks in, tracks out, on a phone and a laptop."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from recommender.models import Artist
from recommender.services.content import content_train
from recommender.services.imports import lastfm_import, moods_import, tracks_import
from tests.browser.conftest import LAPTOP, PHONE, overflow, sync_api

pytestmark = pytest.mark.browser


@pytest.fixture
def trained(transactional_db: None, settings: Any, tmp_path: Path, fixtures_dir: Path) -> list[str]:
    settings.ML_STORE_DIR = tmp_path / "models"
    lastfm_import(directory=fixtures_dir / "lastfm-small")
    tracks_import(path=fixtures_dir / "catalogue_small.csv")
    moods_import(path=fixtures_dir / "data_moods_small.csv")
    content_train(tiny=True)
    names = Artist.objects.filter(lastfm_id__isnull=False, tracks__isnull=False).distinct()
    return list(names.values_list("name", flat=True)[:3])


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_three_artists_give_recommendations_without_overflow(
    trained: list[str], live_server: Any, browser: Any, viewport: dict[str, int]
) -> None:
    page = browser.new_page(viewport=viewport)
    response = page.goto(live_server.url + "/discover/")
    assert response is not None and response.ok
    page.get_by_label("Artists").fill(", ".join(trained))
    page.get_by_role("button", name="Recommend").click()
    results = page.get_by_test_id("recommendations")
    sync_api.expect(results).to_be_visible()
    assert results.locator("li").count() > 0
    assert overflow(page) <= 0
    shots = os.environ.get("AUDOTICS_SCREENSHOTS")
    if shots:
        page.screenshot(path=f"{shots}/discover-{viewport['width']}.png", full_page=True)


def test_an_unknown_artist_is_a_field_error_on_the_page(
    trained: list[str], live_server: Any, browser: Any
) -> None:
    page = browser.new_page(viewport=PHONE)
    page.goto(live_server.url + "/discover/?artists=Nobody+Anyone+Knows")
    sync_api.expect(page.get_by_role("alert")).to_contain_text("Not in the catalogue")
    assert overflow(page) <= 0
