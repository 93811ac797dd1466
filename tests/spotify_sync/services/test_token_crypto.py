"""Tokens at rest: encrypted under a key derived from SECRET_KEY; rotation keeps them readable."""

from __future__ import annotations

from typing import Any

import pytest

from spotify_sync.crypto import token_decrypt, token_encrypt
from spotify_sync.errors import SpotifySyncError

TOKEN = {"access_token": "BQsecret-access", "refresh_token": "AQsecret-refresh", "expires_at": 1}


def test_a_round_trip_hides_the_tokens() -> None:
    ciphertext = token_encrypt(TOKEN)

    assert "secret" not in ciphertext
    assert token_decrypt(ciphertext) == TOKEN


def test_rotating_secret_key_with_a_fallback_keeps_tokens_readable(settings: Any) -> None:
    ciphertext = token_encrypt(TOKEN)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-brand-new-secret-key-for-production-use-only"

    assert token_decrypt(ciphertext) == TOKEN


def test_a_changed_secret_key_without_fallback_asks_to_reconnect(settings: Any) -> None:
    ciphertext = token_encrypt(TOKEN)
    settings.SECRET_KEY = "another-secret"

    with pytest.raises(SpotifySyncError, match="connect Spotify again") as caught:
        token_decrypt(ciphertext)

    assert caught.value.permanent is True
