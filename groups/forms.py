"""Forms of the listening-room pages: create a room, join as a guest, find a room, save a recap."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from groups.services.rooms import ROOM_POLICIES
from recommender.selectors import genre_list_with_track_counts

MAX_SEEDS = 10

#: what each aggregation policy means, in the words the host picks it by
POLICY_LABELS = {
    "learned": "Learned: the group model decides",
    "average": "Average: best overall",
    "least-misery": "Least misery: nobody hates it",
    "most-pleasure": "Most pleasure: someone loves it",
    "borda": "Borda: everyone's rankings",
    "average-without-misery": "Average, without misery",
    "fairness": "Fairness: whoever is owed",
}


def policy_choices() -> list[tuple[str, str]]:
    return [(policy, POLICY_LABELS.get(policy, policy)) for policy in ROOM_POLICIES]


def _names(text: str) -> list[str]:
    return list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


class RoomCreateForm(forms.Form):
    name = forms.CharField(
        max_length=120,
        label="Room name",
        widget=forms.TextInput(attrs={"placeholder": "Friday night", "autocomplete": "off"}),
    )
    policy = forms.ChoiceField(
        choices=policy_choices,
        initial="learned",
        label="How the queue decides",
        help_text="You can change it later from the room.",
    )
    max_members = forms.IntegerField(min_value=2, max_value=500, initial=20, label="Most people")
    add_cap = forms.IntegerField(
        required=False, min_value=1, max_value=20, initial=3, label="Adds per person",
        help_text="Tracks one person may have waiting at once.",
    )  # fmt: skip
    veto_budget = forms.IntegerField(
        required=False, min_value=0, max_value=10, initial=2, label="Vetoes per person",
        help_text="Upcoming tracks each person may strike off, per session.",
    )  # fmt: skip
    allow_explicit = forms.BooleanField(required=False, initial=True, label="Allow explicit tracks")

    def clean_add_cap(self) -> int:
        value = self.cleaned_data.get("add_cap")
        return 3 if value is None else int(value)

    def clean_veto_budget(self) -> int:
        value = self.cleaned_data.get("veto_budget")
        return 2 if value is None else int(value)


class GuestForm(forms.Form):
    """Who a visitor without an account is: a name, and a few picks for their cold start."""

    display_name = forms.CharField(
        max_length=40,
        label="Your name",
        help_text="What the others see next to your votes.",
        widget=forms.TextInput(attrs={"placeholder": "Sam", "autocomplete": "nickname"}),
    )
    seed_artists = forms.CharField(
        required=False,
        max_length=500,
        label="Artists you like",
        help_text="A few names, separated by commas: they shape what the room plays for you.",
        widget=forms.TextInput(attrs={"placeholder": "Sia, ODESZA, Muse", "list": "artist-names"}),
    )
    seed_genres = forms.MultipleChoiceField(
        required=False,
        label="Genres you like",
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["seed_genres"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(g.name, g.name) for g in genre_list_with_track_counts()]

    def clean_seed_artists(self) -> list[str]:
        names = _names(self.cleaned_data["seed_artists"])
        if len(names) > MAX_SEEDS:
            raise forms.ValidationError(f"Pick at most {MAX_SEEDS} artists.")
        return names

    def clean_seed_genres(self) -> list[str]:
        chosen: list[str] = list(self.cleaned_data["seed_genres"])
        if len(chosen) > MAX_SEEDS:
            raise forms.ValidationError(f"Pick at most {MAX_SEEDS} genres.")
        return chosen


class JoinCodeForm(forms.Form):
    code = forms.CharField(
        max_length=16,
        label="Room code",
        widget=forms.TextInput(
            attrs={
                "placeholder": "AB12CD34",
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
            }
        ),
    )

    def clean_code(self) -> str:
        code = re.sub(r"[\s-]", "", self.cleaned_data["code"]).upper()
        if not re.fullmatch(r"[A-Z0-9]{8}", code):
            raise forms.ValidationError("A room code is 8 letters and digits.")
        return code


class PlaylistSaveForm(forms.Form):
    name = forms.CharField(max_length=200, label="Playlist name")
