"""Uploading a data export on the Spotify page: imported, or a clear error and nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from recommender.models import ListeningEvent

pytestmark = pytest.mark.django_db

UPLOAD = reverse("spotify_sync:export")
EXTENDED = "Streaming_History_Audio_2023-2024_0.json"


@pytest.fixture
def browser(client: Client, owner: Any) -> Client:
    client.force_login(owner)
    return client


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/json")


def test_an_upload_imports_the_plays(browser: Client, owner: Any, fixtures_dir: Path) -> None:
    data = (fixtures_dir / "spotify_export" / EXTENDED).read_bytes()

    answer = browser.post(UPLOAD, {"history": [upload(EXTENDED, data)]}, follow=True)

    assert answer.status_code == 200
    page = answer.content.decode()
    assert "Imported 22 plays from 1 file(s)" in page
    assert "4 plays shorter than 30 s were skipped (Spotify does not count" in page
    assert ListeningEvent.objects.filter(user=owner, source="export").count() == 22


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.txt", b"hello", "notes.txt: not a .json or .zip file"),
        ("Streaming_History_Audio_2020.json", b"[{", "not valid JSON"),
        (
            "Streaming_History_Audio_2020.json",
            json.dumps({"a": 1}).encode(),
            "expected a JSON list",
        ),
        ("my_spotify_data.zip", b"PK\x03\x04 no", "not a zip archive"),
    ],
)
def test_a_bad_upload_is_explained_and_writes_nothing(
    browser: Client, name: str, data: bytes, message: str
) -> None:
    answer = browser.post(UPLOAD, {"history": [upload(name, data)]})

    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert 'data-testid="upload-errors"' in answer.content.decode()
    assert not ListeningEvent.objects.exists()


def test_no_file_is_explained(browser: Client) -> None:
    answer = browser.post(UPLOAD, {})

    assert answer.status_code == 400
    assert "This field is required." in answer.content.decode()


def test_an_upload_over_the_limit_is_refused(
    browser: Client, settings: Any, fixtures_dir: Path
) -> None:
    settings.SPOTIFY_EXPORT_MAX_BYTES = 2 * 1_048_576
    big = upload(EXTENDED, b"[" + b" " * (3 * 1_048_576) + b"]")

    answer = browser.post(UPLOAD, {"history": [big]})

    assert answer.status_code == 400
    assert "The files add up to 3.0 MB; the limit is 2.0 MB." in answer.content.decode()
