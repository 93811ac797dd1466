"""Serve the fake Spotify for a demo: a listener who consents to any app redirect.

    .venv/bin/python -m tests.spotify_sync.fake_spotify --port 8765

then start Audotics with the environment it prints and press "Connect Spotify".
"""

from __future__ import annotations

import argparse
import time

from tests.spotify_sync.fake_spotify import FakeSpotify, listener


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.spotify_sync.fake_spotify")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--plays", type=int, default=120, help="plays in the demo history")
    args = parser.parse_args()
    fake = FakeSpotify(client_id="audotics-demo", port=args.port)
    fake.add_user(listener("demo.listener", display_name="Demo Listener", plays=args.plays))
    fake.start()
    print(f"fake Spotify on {fake.base_url}; start Audotics with:", flush=True)
    print(
        f"  SPOTIFY_CLIENT_ID=audotics-demo SPOTIFY_API_BASE={fake.base_url} "
        f"SPOTIFY_ACCOUNTS_BASE={fake.base_url} scripts/run",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
