"""The single DRF exception handler: every 4xx has the shape {"code", "message", ...}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from audotics.errors import ApplicationError


def _messages(detail: Any, where: str = "") -> list[str]:
    """Readable messages of one field's error detail, however nested.

    A list item's or nested field's errors (``{0: ["This field may not be blank."]}`` from a
    ``ListField``, ``[{}, {"name": [...]}]`` from a nested list) say where: ``"0: ..."``,
    ``"1.name: ..."``, instead of leaking the dict's repr.
    """
    if isinstance(detail, dict):
        return [
            message
            for key, value in detail.items()
            for message in _messages(value, f"{where}.{key}" if where else str(key))
        ]
    if isinstance(detail, list):
        return [
            message
            for index, item in enumerate(detail)
            for message in _messages(
                item,
                (f"{where}.{index}" if where else str(index))
                if isinstance(item, (dict, list))
                else where,
            )
        ]
    return [f"{where}: {detail}" if where else str(detail)]


def _fields(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        fields = {str(key): _messages(value) for key, value in detail.items()}
        return {key: messages for key, messages in fields.items() if messages}
    return {"non_field_errors": _messages(detail)}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django logs it and answers 500
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "validation_error",
            "message": "The request has invalid fields.",
            "fields": _fields(exc.detail),
        }
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = {
            "code": codes if isinstance(codes, str) else "error",
            "message": str(exc.detail),
            "extra": {},
        }
    return response
