"""Every curator admin page for the catalogue and the groups answers, on a few real rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection, models
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from groups.models import (
    Friendship,
    ListeningGroup,
    MemberLedger,
    Membership,
    QueueEntry,
    QueueVote,
    SessionPlaylist,
    SkipVote,
)
from recommender.models import (
    ArtistTag,
    BanditSnapshot,
    BanditState,
    CurationRule,
    FeedbackEvent,
    Genre,
    ImportRun,
    ListenerProfile,
    ListeningEvent,
    ModelVersion,
    Playlist,
    PlaylistTrack,
    RetrainRun,
    Tag,
    Track,
    TrackGenre,
    TrackMood,
    TrackPrediction,
    UserTagAssignment,
)
from tests.factories import (
    ArtistFactory,
    ArtistPlayCountFactory,
    TrackFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

APPS = ("recommender", "groups")
MODELS = sorted(
    (m for app in APPS for m in apps.get_app_config(app).get_models()),
    key=lambda m: m._meta.label,
)


def _url(model: type[models.Model], view: str, *args: object) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


@pytest.fixture
def catalogue() -> dict[str, Any]:
    """One row of every model, linked the way the importers link them."""
    listener = UserFactory(username="lastfm_2", profile__source=ListenerProfile.Source.LASTFM)
    friend = UserFactory(username="lastfm_3", profile__source=ListenerProfile.Source.LASTFM)
    low, high = sorted([listener, friend], key=lambda u: u.pk)
    pop = Genre.objects.create(name="pop")
    dance_pop = Genre.objects.create(name="dance pop", parent=pop)
    track = TrackFactory(name="Dance Monkey", artist=ArtistFactory(name="Tones and I"))
    rock = Tag.objects.create(name="rock", lastfm_id=73)
    group = ListeningGroup.objects.create(name="Friday night", owner=listener)
    playlist = Playlist.objects.create(name="Pop hits", spotify_id="37i9dQZF1DXcBWIGoYBM5M")
    rows: dict[str, Any] = {
        "track": track,
        "tag": rock,
        "genre": dance_pop,
        "playlist": playlist,
        "group": group,
        "artist_tag": ArtistTag.objects.create(artist=track.artist, tag=rock, count=4),
        "track_genre": TrackGenre.objects.create(track=track, genre=dance_pop),
        "playlist_track": PlaylistTrack.objects.create(playlist=playlist, track=track),
        "mood": TrackMood.objects.create(track=track, source="label", mood="happy"),
        "prediction": TrackPrediction.objects.create(
            track=track,
            genre="pop",
            genre_probability=0.8,
            subgenre="dance pop",
            subgenre_probability=0.5,
            model_version="0001",
        ),
        "play_count": ArtistPlayCountFactory(user=listener, artist=track.artist, play_count=1200),
        "tag_assignment": UserTagAssignment.objects.create(
            user=listener, artist=track.artist, tag=rock, tagged_on=dt.date(2009, 5, 1)
        ),
        "listening_event": ListeningEvent.objects.create(
            user=listener, track=track, played_at=timezone.now(), source="app"
        ),
        "feedback": FeedbackEvent.objects.create(
            user=listener, track=track, kind="vote", value=-1, group=group
        ),
        "friendship": Friendship.objects.create(user_low=low, user_high=high, source="lastfm"),
        "membership": Membership.objects.create(group=group, user=friend, role="member"),
        "ledger": MemberLedger.objects.create(group=group, user=friend, satisfaction=1.5),
        "session_playlist": SessionPlaylist.objects.create(
            group=group, user=friend, name="Friday night pop", tracks=[]
        ),
        "import_run": ImportRun.objects.create(
            kind="tracks",
            source="data/spotify_songs.csv.gz",
            status="succeeded",
            counts={"tracks": 28352, "artists": 10685},
            skipped=["spotify_songs.csv.gz:8153: track_name is empty"],
            started_at=timezone.now() - dt.timedelta(seconds=5),
            finished_at=timezone.now(),
        ),
        "curation_rule": CurationRule.objects.create(action="boost", track=track, amount=0.5),
        "bandit_state": BanditState.objects.create(
            model_version="0001", state={"weights": {}}, updates=3
        ),
        "bandit_snapshot": BanditSnapshot.objects.create(
            model_version="0001", state={"weights": {}}, reason="pop test"
        ),
        "retrain_run": RetrainRun.objects.create(
            name="user_preference", status="failed", reason="pop: no data"
        ),
        "model_version": ModelVersion.objects.create(
            name="popularity",
            version="0001",
            model_type="popularity",
            status="active",
            metrics={"ndcg@10": 0.31},
            path="var/models/popularity/0001",
        ),
    }
    entry = QueueEntry.objects.create(group=group, track=track, added_by=friend)
    rows["queue_entry"] = entry
    rows["queue_vote"] = QueueVote.objects.create(entry=entry, user=listener, value=1)
    rows["skip_vote"] = SkipVote.objects.create(entry=entry, user=listener)
    return rows


def test_every_model_of_both_apps_has_an_admin() -> None:
    missing = [m._meta.label for m in MODELS if not admin.site.is_registered(m)]

    assert missing == []


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_changelist_answers_with_rows_and_a_search(
    admin_client: Client, catalogue: dict[str, Any], model: type[models.Model]
) -> None:
    url = _url(model, "changelist")

    response = admin_client.get(url)

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1
    # A bad search_fields path fails only when a search runs.
    assert admin_client.get(url, {"q": "pop"}).status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_change_page_answers_for_an_existing_row(
    admin_client: Client, catalogue: dict[str, Any], model: type[models.Model]
) -> None:
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, "the catalogue fixture must create a row of every model"

    response = admin_client.get(_url(model, "change", obj.pk))

    assert response.status_code == 200


@pytest.mark.parametrize(
    "model",
    # audit rows and model output: nobody adds them by hand
    [
        m
        for m in MODELS
        if m
        not in (ImportRun, ModelVersion, RetrainRun, TrackPrediction, BanditState, BanditSnapshot)
    ],
    ids=lambda m: m._meta.label,
)
def test_add_page_answers(admin_client: Client, model: type[models.Model]) -> None:
    response = admin_client.get(_url(model, "add"))

    assert response.status_code == 200


def test_import_runs_are_an_audit_trail_nobody_edits(
    admin_client: Client, catalogue: dict[str, Any]
) -> None:
    run = catalogue["import_run"]

    assert admin_client.get(_url(ImportRun, "add")).status_code == 403
    assert admin_client.post(_url(ImportRun, "change", run.pk), {"kind": "x"}).status_code == 403
    assert admin_client.get(_url(ImportRun, "delete", run.pk)).status_code == 403
    page = admin_client.get(_url(ImportRun, "change", run.pk)).content.decode()
    assert "28,352" in page
    assert "track_name is empty" in page
    assert 'name="_save"' not in page


def test_audit_fields_are_read_only(admin_client: Client, catalogue: dict[str, Any]) -> None:
    response = admin_client.get(_url(Track, "change", catalogue["track"].pk))

    form_fields = response.context["adminform"].form.fields
    assert "created_at" not in form_fields
    assert "updated_at" not in form_fields
    assert "Dance Monkey" in response.content.decode()


def test_user_admin_shows_display_name_and_profile(admin_client: Client) -> None:
    listener = UserFactory(username="lastfm_9", display_name="Last.fm listener 9")

    changelist = admin_client.get(_url(listener.__class__, "changelist")).content.decode()
    change = admin_client.get(_url(listener.__class__, "change", listener.pk))

    assert "Last.fm listener 9" in changelist
    assert "display_name" in change.context["adminform"].form.fields
    assert any(f.opts.model is ListenerProfile for f in change.context["inline_admin_formsets"])


def test_track_changelist_queries_do_not_grow_with_rows(admin_client: Client) -> None:
    """Guards the N+1: Track.__str__ reads its artist, and the genres column its genres."""
    TrackFactory.create_batch(2)
    admin_client.get(_url(Track, "changelist"))  # warm the session and content types

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(_url(Track, "changelist")).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    TrackFactory.create_batch(8)
    assert queries() == few


def test_artist_page_lists_only_the_top_tags(admin_client: Client) -> None:
    artist = ArtistFactory(name="Lady Gaga")
    for n in range(25):
        tag = Tag.objects.create(name=f"tag {n:02d}", lastfm_id=1000 + n)
        ArtistTag.objects.create(artist=artist, tag=tag, count=n + 1)

    response = admin_client.get(_url(artist.__class__, "change", artist.pk))

    (tags,) = [f for f in response.context["inline_admin_formsets"] if f.opts.model is ArtistTag]
    counts = [form.instance.count for form in tags.formset.forms]
    assert counts == list(range(25, 5, -1))


def test_curation_rules_filter_by_when_and_scope(admin_client: Client) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from groups.models import ListeningGroup
    from recommender.models import Genre

    now = timezone.now()
    room = ListeningGroup.objects.create(name="Filter room")
    live = CurationRule.objects.create(action="block", genre=Genre.objects.create(name="polka"))
    later = CurationRule.objects.create(
        action="bury", genre=Genre.objects.create(name="ska"), starts_at=now + timedelta(days=1)
    )
    ended = CurationRule.objects.create(
        action="boost", genre=Genre.objects.create(name="jazz"), group=room,
        ends_at=now - timedelta(days=1),
    )  # fmt: skip
    url = _url(CurationRule, "changelist")

    def shown(**query: str) -> set[int]:
        page = admin_client.get(url, query)
        assert page.status_code == 200
        return {row.pk for row in page.context["cl"].result_list}

    assert shown(when="live") == {live.pk}
    assert shown(when="scheduled") == {later.pk}
    assert shown(when="ended") == {ended.pk}
    assert shown(scope="room") == {ended.pk}
    assert shown(scope="global") == {live.pk, later.pk}
