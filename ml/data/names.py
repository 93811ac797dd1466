"""Name normalisation: the bridge between Last.fm artists and catalogue artists."""

from __future__ import annotations

import unicodedata


def normalize_name(name: str) -> str:
    """Return the matching key of an artist or tag name.

    Unicode compatibility forms are folded (NFKC), case is folded and runs of whitespace become
    one space, so ``"  Daft  PUNK "`` and ``"daft punk"`` share a key.
    """
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())
