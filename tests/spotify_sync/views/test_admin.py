"""Curators see connections, sync runs and cursors read-only, and never the tokens."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from spotify_sync.crypto import token_decrypt
from spotify_sync.models import SpotifyConnection, SyncCursor, SyncRun

pytestmark = pytest.mark.django_db


def test_the_admin_pages_load_and_hide_the_tokens(
    client: Client, connected: SpotifyConnection, first_run: SyncRun, admin_user: Any
) -> None:
    SyncCursor.objects.create(
        user=connected.user, resource="recently_played", spotify_user_id="alice.spotify", value="1"
    )
    client.force_login(admin_user)
    secrets = token_decrypt(connected.tokens)
    rows = {SpotifyConnection: connected, SyncRun: first_run, SyncCursor: SyncCursor.objects.get()}
    for model, row in rows.items():
        opts = model._meta
        for url in (
            reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]),
        ):
            page = client.get(url)
            assert page.status_code == 200, url
            body = page.content.decode()
            assert secrets["access_token"] not in body and connected.tokens not in body
        add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        assert client.get(add).status_code == 403
