"""The Spotify settings component: typed values, one line on a bad one (STYLE rule 10)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest
from django.core.exceptions import ImproperlyConfigured

from audotics.settings.components import spotify


def reload() -> ModuleType:
    return importlib.reload(spotify)


@pytest.fixture(autouse=True)
def restore(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield
    monkeypatch.undo()
    reload()  # the module as the real environment makes it


def test_the_defaults_are_spotify_and_off_without_a_client_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("SPOTIFY_CLIENT_ID", "USE_SPOTIFY", "SPOTIFY_API_BASE", "SPOTIFY_ACCOUNTS_BASE"):
        monkeypatch.delenv(name, raising=False)

    module = reload()

    assert module.USE_SPOTIFY is False
    assert module.SPOTIFY_API_BASE == "https://api.spotify.com"
    assert module.SPOTIFY_ACCOUNTS_BASE == "https://accounts.spotify.com"
    assert "user-read-recently-played" in module.SPOTIFY_SCOPES


def test_a_client_id_turns_it_on_and_bases_lose_their_slash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", "abc")
    monkeypatch.setenv("SPOTIFY_API_BASE", "http://127.0.0.1:8765/")

    module = reload()

    assert module.USE_SPOTIFY is True and module.SPOTIFY_API_BASE == "http://127.0.0.1:8765"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SPOTIFY_API_BASE", "api.spotify.com", "must start with https:// or http://"),
        ("SPOTIFY_MAX_RETRIES", "many", "is not an integer"),
        ("USE_SPOTIFY", "1", "USE_SPOTIFY=1 needs SPOTIFY_CLIENT_ID"),
    ],
)
def test_a_bad_value_fails_in_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.delenv("SPOTIFY_CLIENT_ID", raising=False)
    monkeypatch.setenv(name, value)

    with pytest.raises(ImproperlyConfigured, match=message):
        reload()
