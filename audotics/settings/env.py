"""Typed environment helpers.

Every value the product reads from the environment goes through one of these helpers, so a bad
value fails at start-up with one line that names the variable, never deep inside a request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)"
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_float(
    name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if value != value or (minimum is not None and value < minimum):
        raise ImproperlyConfigured(f"{name}={raw!r} must be a number of at least {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} must be at most {maximum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str, default: str, *, required: bool = False) -> str:
    """A secret: required in production (``required=True``), a development default otherwise."""
    raw = os.environ.get(name, "").strip()
    if raw:
        return raw
    if required:
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off")
    return default


@dataclass(frozen=True)
class ServiceUrl:
    scheme: str
    host: str
    port: int | None
    user: str
    password: str
    path: str
    options: dict[str, str]


def env_url(name: str, *, schemes: tuple[str, ...]) -> ServiceUrl | None:
    """Parse ``NAME`` as a service URL, or ``None`` when unset; one line on a bad value."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    return parse_service_url(name, raw, schemes=schemes)


def parse_service_url(name: str, raw: str, *, schemes: tuple[str, ...]) -> ServiceUrl:
    parts = urlsplit(raw)
    if parts.scheme not in schemes:
        allowed = ", ".join(f"{s}://" for s in schemes)
        raise ImproperlyConfigured(f"{name}={raw!r}: scheme must be one of {allowed}")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: the port is not a number") from None
    if not parts.hostname and parts.scheme not in {"sqlite"}:
        raise ImproperlyConfigured(f"{name}={raw!r}: a host is required")
    return ServiceUrl(
        scheme=parts.scheme,
        host=parts.hostname or "",
        port=port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        path=unquote(parts.path.lstrip("/")) if parts.scheme != "sqlite" else unquote(parts.path),
        options=dict(parse_qsl(parts.query)),
    )
