"""Session cookies for room sockets, and a live room in a fresh database for server processes.

``python -m tests.groups.consumers.live_room N`` (with ``AUDOTICS_VAR_DIR`` pointing at an empty
folder) migrates a new SQLite database there, imports the fixture catalogue, makes N guests
in one room (the first hosts it) with a signed-in session each, and prints one JSON line:
``{"code", "users", "cookies"}``. ``test_two_servers.py`` runs it before starting its servers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

CATALOGUE = Path(__file__).resolve().parents[2] / "fixtures" / "catalogue_small.csv"


def session_cookie(user: Any) -> bytes:
    """A signed-in session for ``user``, stored as the login view would store it."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"sessionid={store.session_key}".encode()


def main(members: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    from groups.services.rooms import guest_create, room_create, room_join
    from recommender.services.imports.tracks import tracks_import

    call_command("migrate", interactive=False, verbosity=0)
    tracks_import(path=CATALOGUE)
    guests = [guest_create(display_name=f"Member {i + 1}") for i in range(members)]
    room = room_create(owner=guests[0], name="Two servers")
    for guest in guests[1:]:
        room_join(group=room, user=guest)
    return {
        "code": room.code,
        "users": [g.pk for g in guests],
        "cookies": [session_cookie(g).decode() for g in guests],
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
