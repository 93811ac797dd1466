"""Suite-wide fixtures: backend availability skips, personas, API clients and rooms."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from groups.models import ListeningGroup, Membership
from tests.factories import ListeningGroupFactory, UserFactory

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="run full-size training tests")


def _answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def _skip_reason(item: pytest.Item) -> str | None:
    from django.db import connection

    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        return (
            "needs PostgreSQL: set DATABASE_URL=postgres://... (scripts/test does when it answers)"
        )
    if item.get_closest_marker("redis"):
        url = os.environ.get("REDIS_URL", "")
        if not url:
            return "needs Redis: set REDIS_URL (scripts/test does when it answers)"
        if not _answers(url, 6379):
            return f"Redis at {url} does not answer"
    if item.get_closest_marker("celery_worker"):
        url = os.environ.get("REDIS_URL", "")
        if not url:
            return "needs a Redis broker for a real worker: set REDIS_URL (scripts/test does)"
        if not _answers(url, 6379):
            return f"Redis at {url} does not answer"
    if item.get_closest_marker("browser"):
        if not Path("/usr/bin/chromium").exists():
            return "needs Debian's chromium at /usr/bin/chromium"
        if shutil.which("chromium") is None:
            return "chromium is not on PATH"
    if item.get_closest_marker("slow") and not item.config.getoption("--run-slow"):
        return "slow: run with --run-slow"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = _skip_reason(item)
    if reason:
        pytest.skip(reason)


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def user(db: Any) -> Any:
    return UserFactory()


@pytest.fixture
def api_client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def anonymous_client() -> APIClient:
    return APIClient()


# Named personas for permission tests (healthchecks' Alice/Bob/Charlie).
@pytest.fixture
def owner(db: Any) -> Any:
    return UserFactory(username="alice", display_name="Alice")


@pytest.fixture
def member(db: Any) -> Any:
    return UserFactory(username="bob", display_name="Bob")


@pytest.fixture
def outsider(db: Any) -> Any:
    return UserFactory(username="charlie", display_name="Charlie")


@pytest.fixture
def room(owner: Any, member: Any) -> ListeningGroup:
    group = ListeningGroupFactory(owner=owner, name="Friday night")
    Membership.objects.create(group=group, user=owner, role=Membership.Role.HOST)
    Membership.objects.create(group=group, user=member, role=Membership.Role.MEMBER)
    return group
