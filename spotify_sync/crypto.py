"""Spotify tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from SECRET_KEY.

The key comes from HKDF-SHA256 over ``SECRET_KEY`` with a purpose-specific ``info``, so it is
never the secret itself and no other use of the secret can produce it. Keys derived from
``SECRET_KEY_FALLBACKS`` still decrypt, so rotating the secret the Django way keeps connections
working (re-encrypted under the new key on the next token refresh).
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from spotify_sync.errors import SpotifySyncError

_SALT = b"audotics.spotify_sync"
_INFO = b"spotify oauth tokens v1"


def _key(secret: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


@functools.lru_cache(maxsize=4)
def _fernet(secrets: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_key(secret) for secret in secrets])


def _current() -> MultiFernet:
    fallbacks = tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ()))
    return _fernet((settings.SECRET_KEY, *fallbacks))


def token_encrypt(data: dict[str, Any]) -> str:
    return _current().encrypt(json.dumps(data, sort_keys=True).encode()).decode("ascii")


def token_decrypt(ciphertext: str) -> dict[str, Any]:
    try:
        plain = _current().decrypt(ciphertext.encode("ascii"))
    except (InvalidToken, ValueError):
        raise SpotifySyncError(
            "the stored Spotify tokens cannot be decrypted (was SECRET_KEY changed without "
            "SECRET_KEY_FALLBACKS?): disconnect and connect Spotify again",
            True,
        ) from None
    data: dict[str, Any] = json.loads(plain)
    return data
