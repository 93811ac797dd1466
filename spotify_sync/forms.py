"""Forms of the Spotify page: disconnecting, and uploading a data export."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

ACCEPTED_SUFFIXES = (".json", ".zip")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented recipe)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".json,.zip"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if not data and self.required:  # the documented recipe lets an empty list through
            raise forms.ValidationError(self.error_messages["required"], code="required")
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class DisconnectForm(forms.Form):
    delete_data = forms.BooleanField(
        required=False,
        label="Also delete everything Audotics imported from Spotify",
        help_text="Plays from Spotify and from data exports, playlists, saved tracks and top "
        "lists. Your plays in rooms stay.",
    )


class ExportUploadForm(forms.Form):
    history = MultipleFileField(
        label="Streaming history files",
        help_text="Streaming_History_Audio_*.json from the extended streaming history, "
        "StreamingHistory*.json from the account data, or the zip Spotify sent.",
    )

    def clean_history(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data["history"]
        for upload in files:
            if not str(upload.name or "").lower().endswith(ACCEPTED_SUFFIXES):
                raise forms.ValidationError(
                    f"{upload.name}: not a .json or .zip file; choose the files from the "
                    "Spotify export"
                )
        total = sum(upload.size or 0 for upload in files)
        limit = settings.SPOTIFY_EXPORT_MAX_BYTES
        if total > limit:
            raise forms.ValidationError(
                f"The files add up to {total / 1_048_576:.1f} MB; the limit is "
                f"{limit / 1_048_576:.1f} MB. Upload them a few at a time."
            )
        return files
