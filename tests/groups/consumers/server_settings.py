"""Settings for the server processes ``test_two_servers.py`` starts: base, plus a channel prefix.

Redis pub/sub channels ignore the database number, so each run gets its own prefix
(``AUDOTICS_TEST_CHANNEL_PREFIX``): its rooms never hear another run's ``room_1``.
"""

from __future__ import annotations

import os

from audotics.settings.base import *  # noqa: F403
from audotics.settings.base import CHANNEL_LAYERS

if CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis"):
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = os.environ.get(
        "AUDOTICS_TEST_CHANNEL_PREFIX", "audotics"
    )
