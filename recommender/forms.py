"""Forms of the server-rendered pages."""

from __future__ import annotations

from typing import Any

from django import forms

from ml.data.names import normalize_name
from recommender.models import Artist, Genre, Mood, Tag

MAX_SEEDS = 10


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class SeedsForm(forms.Form):
    """A new listener's first picks: a few artists, tags, a genre and a mood (any of them)."""

    artists = forms.CharField(
        required=False,
        max_length=500,
        help_text="Up to 10 artists, separated by commas.",
        widget=forms.TextInput(
            attrs={"placeholder": "Daft Punk, Muse, Rihanna", "list": "artist-names"}
        ),
    )
    tags = forms.CharField(
        required=False,
        max_length=300,
        help_text="Last.fm tags, separated by commas.",
        widget=forms.TextInput(attrs={"placeholder": "electronic, indie"}),
    )
    genre = forms.ChoiceField(required=False)
    mood = forms.ChoiceField(required=False, choices=[("", "Any mood"), *Mood.choices])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = Genre.objects.filter(parent__isnull=True).order_by("name")
        genre = self.fields["genre"]
        assert isinstance(genre, forms.ChoiceField)
        genre.choices = [("", "Any genre"), *((g.name, g.name) for g in names)]

    def clean_artists(self) -> list[Artist]:
        names = _names(self.cleaned_data["artists"])
        if len(names) > MAX_SEEDS:
            raise forms.ValidationError(f"Pick at most {MAX_SEEDS} artists.")
        found: list[Artist] = []
        missing: list[str] = []
        for name in names:
            artist = (
                Artist.objects.filter(name_key=normalize_name(name))
                .order_by("lastfm_id", "pk")
                .first()
            )
            if artist is None:
                missing.append(name)
            else:
                found.append(artist)
        if missing:
            raise forms.ValidationError(f"Not in the catalogue: {', '.join(missing)}.")
        return found

    def clean_tags(self) -> list[Tag]:
        names = _names(self.cleaned_data["tags"])
        if len(names) > MAX_SEEDS:
            raise forms.ValidationError(f"Pick at most {MAX_SEEDS} tags.")
        found: list[Tag] = []
        missing: list[str] = []
        for name in names:
            tag = Tag.objects.filter(name__iexact=name).order_by("lastfm_id", "pk").first()
            if tag is None:
                missing.append(name)
            else:
                found.append(tag)
        if missing:
            raise forms.ValidationError(f"Unknown tags: {', '.join(missing)}.")
        return found

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not any(data.get(f) for f in ("artists", "tags", "genre", "mood")) and not self.errors:
            raise forms.ValidationError("Pick at least one artist, tag, genre or mood.")
        return data
