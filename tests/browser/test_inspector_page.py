"""The recommendation inspector in headless Chromium: a curator logs in and inspects a listener."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db.models import Count

from recommender.models import User
from recommender.services.hybrid import hybrid_train
from recommender.services.imports import lastfm_import, moods_import, tracks_import
from tests.browser.conftest import LAPTOP, overflow, sync_api

pytestmark = pytest.mark.browser
OUTPUT = Path(__file__).resolve().parent / "output"


@pytest.fixture
def listener(transactional_db: None, settings: Any, tmp_path: Path, fixtures_dir: Path) -> str:
    settings.ML_STORE_DIR = tmp_path / "models"
    tracks_import(path=fixtures_dir / "catalogue_small.csv")
    lastfm_import(directory=fixtures_dir / "lastfm-small")
    moods_import(path=fixtures_dir / "data_moods_small.csv")
    hybrid_train(tiny=True)
    User.objects.create_superuser("curator", "curator@example.com", "pw-curator-1")
    found = (
        User.objects.filter(artistplaycount__artist__tracks__isnull=False)
        .annotate(n=Count("artistplaycount", distinct=True))
        .order_by("-n", "pk")
        .first()
    )
    assert found is not None
    return found.username


def test_a_curator_inspects_a_listeners_list(listener: str, live_server: Any, browser: Any) -> None:
    page = browser.new_page(viewport=LAPTOP)
    page.goto(live_server.url + "/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("curator")
    page.get_by_label("Password").fill("pw-curator-1")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Recommendation inspector").click()
    page.get_by_label("Listener").fill(listener)
    page.get_by_role("button", name="Inspect").click()

    table = page.locator("table.inspector-table")
    sync_api.expect(table).to_be_visible()
    assert table.locator("tbody tr").count() == 10
    headers = {h.lower() for h in table.locator("thead th").all_inner_texts()}
    assert {"score", "confidence", "ncf", "content"} <= headers
    assert overflow(page) <= 0
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "inspector.png"), full_page=True)
