"""One error vocabulary for the whole product (STYLE rule 4).

Domain code raises ``ApplicationError`` subclasses; the DRF exception handler, the WebSocket
consumers and the management commands translate them at their boundary.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    code = "application_error"
    http_status = 400

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "extra": self.extra}


class NotFound(ApplicationError):
    code = "not_found"
    http_status = 404


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    http_status = 403


class ImportFailed(ApplicationError):
    """A data import stopped; nothing it would have written was kept."""

    code = "import_failed"
