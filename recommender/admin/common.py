# mypy: allow-any-generics
# (Django's admin classes are generic only under django-stubs; subscripting them at runtime
# needs django_stubs_ext.monkeypatch(), which the settings do not call.)
"""Shared pieces of the curator admin, and the admin site's titles."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

admin.site.site_header = "Audotics curation"
admin.site.site_title = "Audotics admin"
admin.site.index_title = "Catalogue, listeners and listening groups"
# The changelists are wide (tracks, import runs); the breadcrumbs and index page suffice.
admin.site.enable_nav_sidebar = False

AUDIT_FIELDS = ("created_at", "updated_at")
TRACK_ROW = ("track__artist",)


def changelist_link(model: type[Any], label: str, **filters: object) -> SafeString:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, label)


# --- Catalogue ---------------------------------------------------------------------------------


class ReadOnlyAdminMixin:
    """An audit trail: curators read it, nobody adds, edits or deletes rows from the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
