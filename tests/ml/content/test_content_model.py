"""The content model: track network, similarity index, artist scores, cold start."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.content.estimator import ContentRecommender
from ml.content.features import FEATURES, load_catalogue
from ml.content.index import Filters, VectorIndex
from ml.content.network import NetworkConfig, train_network
from ml.data.interactions import ITEM_NAME_KEYS, load_hetrec, seed_split, split_users
from ml.evaluation import evaluate_cold_start
from ml.models import build

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CATALOGUE = FIXTURES / "catalogue_small.csv"
LASTFM = FIXTURES / "lastfm-small"


@pytest.fixture(scope="module")
def table():  # type: ignore[no-untyped-def]
    return load_catalogue(CATALOGUE)


@pytest.fixture(scope="module")
def fitted() -> ContentRecommender:
    model = ContentRecommender.tiny(catalogue=str(CATALOGUE), classifiers=False)
    return model.fit(load_hetrec(LASTFM))


def test_catalogue_table_merges_playlist_rows_into_one_track(table) -> None:  # type: ignore[no-untyped-def]
    assert len(set(table.track_ids.tolist())) == len(table)
    assert table.features.shape == (len(table), len(FEATURES))
    assert len(set(table.genres.tolist())) == 6
    assert table.playlists.sum() >= len(table)  # every track sits in at least one playlist


def test_network_learns_genre_and_is_deterministic(table) -> None:  # type: ignore[no-untyped-def]
    config = NetworkConfig(hidden=32, genre_dim=4, embedding_dim=8, epochs=25, batch_size=64)
    a = train_network(table, config)
    b = train_network(table, config)
    assert np.array_equal(a.embed(table.features), b.embed(table.features))
    assert a.log[-1].loss < a.log[0].loss
    genre_p, _ = a.predict_genres(table.features)
    accuracy = float((a.genres[genre_p.argmax(1)] == table.genres).mean())
    assert accuracy > 1 / 6 + 0.15  # well above chance on six genres
    z = a.embed(table.features)
    assert np.allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-5)


def test_network_embeds_a_new_track_without_genre_from_features_alone(table) -> None:  # type: ignore[no-untyped-def]
    net = train_network(table, NetworkConfig.tiny())
    unknown = net.embed(table.features[:3], np.array(["", "", "no such genre"]))
    predicted = net.embed(table.features[:3])
    assert np.allclose(unknown, predicted)
    known = net.embed(table.features[:3], table.subgenres[:3])
    assert unknown.shape == known.shape == (3, 8)


def test_network_needs_two_genres(table) -> None:  # type: ignore[no-untyped-def]
    one = table.select(np.flatnonzero(table.genres == "pop"))
    with pytest.raises(ValueError, match="two genres"):
        train_network(one, NetworkConfig.tiny())


def test_vector_index_is_exact_and_honours_filters() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(50, 4)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.array([f"t{k}" for k in range(50)])
    genres = np.array(["rock" if k % 2 else "pop" for k in range(50)])
    tempo = np.linspace(60, 180, 50).astype(np.float32)
    artists = np.array([f"a{k % 5}" for k in range(50)])
    index = VectorIndex(ids, vectors, genres=genres, tempo=tempo, artist_keys=artists)
    found = index.search(vectors[0], 5, exclude=("t0",))
    brute = np.argsort(-(vectors @ vectors[0]))
    assert [n.id for n in found] == [f"t{k}" for k in brute if k != 0][:5]
    rock = index.search(vectors[0], 5, filters=Filters(genre="rock", tempo_max=120.0))
    assert len(rock) == 5
    assert all(genres[int(n.id[1:])] == "rock" and tempo[int(n.id[1:])] <= 120 for n in rock)
    no_a0 = index.search(vectors[0], 50, filters=Filters(exclude_artists=frozenset({"a0"})))
    assert len(no_a0) == 40 and all(int(n.id[1:]) % 5 for n in no_a0)
    assert index.search(vectors[0], 3, filters=Filters(genre="jazz")) == []
    with pytest.raises(ValueError, match="mood"):
        index.search(vectors[0], 3, filters=Filters(mood="happy"))


def test_content_model_scores_artists_and_finds_similar_tracks(fitted: ContentRecommender) -> None:
    assert fitted.weights_.shape == (2, 3)
    track = str(fitted.track_ids_[0])
    neighbours = fitted.similar_tracks(track, 5)
    assert len(neighbours) == 5 and track not in {n.id for n in neighbours}
    assert [n.score for n in neighbours] == sorted((n.score for n in neighbours), reverse=True)
    pop = fitted.track_genres_ == "pop"
    only_pop = fitted.similar_tracks(track, 5, filters=Filters(genre="pop"))
    assert {fitted.track_genres_[fitted.track_index().position[n.id]] for n in only_pop} == {"pop"}
    assert pop.any()
    # a brand-new track: embedded from its features, no retraining
    new = fitted.similar_tracks("brand-new", 3, raw_features=fitted.network_.standardizer.mean)
    assert len(new) == 3
    with pytest.raises(KeyError):
        fitted.similar_tracks("unknown", 3)


def test_artist_audio_vectors_link_listeners_to_catalogue_tracks(
    fitted: ContentRecommender,
) -> None:
    data = load_hetrec(LASTFM)
    keys = data.extras[ITEM_NAME_KEYS]
    linked = np.isin(keys, fitted.track_artist_keys_)
    assert linked.any()
    norms = np.linalg.norm(fitted.item_audio_, axis=1)
    assert np.allclose(norms[linked], 1.0, atol=1e-5) and np.all(norms[~linked] == 0)


def test_tag_seeds_rank_artists_with_that_tag_first(fitted: ContentRecommender) -> None:
    tags = fitted.item_tags_
    tag_col = int(np.argmax(np.asarray((tags > 0).sum(axis=0)).ravel()))
    scores = fitted.tag_scores([fitted.tag_ids_[tag_col]])
    has_tag = tags[:, tag_col].toarray().ravel() > 0
    top = np.argsort(-scores)[: int(has_tag.sum())]
    assert has_tag[top].mean() > 0.8


def test_save_load_round_trip_gives_the_same_scores_and_neighbours(
    fitted: ContentRecommender, tmp_path: Path
) -> None:
    fitted.save(tmp_path / "m")
    loaded = ContentRecommender.load(tmp_path / "m")
    history = fitted.history_matrix([{fitted.item_ids_[0]: 1.0, fitted.item_ids_[3]: 2.0}])
    assert np.allclose(loaded.scores_from_history(history), fitted.scores_from_history(history))
    track = str(fitted.track_ids_[5])
    assert loaded.similar_tracks(track, 5) == fitted.similar_tracks(track, 5)
    assert np.allclose(
        loaded.embed_tracks(fitted.network_.standardizer.mean[None, :]),
        fitted.embed_tracks(fitted.network_.standardizer.mean[None, :]),
    )


def test_held_out_users_tags_never_describe_training_artists() -> None:
    data = load_hetrec(LASTFM)
    train, test = split_users(data, test_fraction=0.5, seed=1)
    assert train.item_features is not None and data.item_features is not None
    assert train.item_features.sum() + test.item_features.sum() == data.item_features.sum()
    assert train.item_features.sum() < data.item_features.sum()


def test_seed_split_gives_exactly_the_seeds_as_picks() -> None:
    data = load_hetrec(LASTFM)
    given, held, rows = seed_split(data.matrix, seeds=3, rng=np.random.default_rng(0))
    assert np.all(np.diff(given.indptr) == 3) and np.all(given.data == 1.0)
    assert given.multiply(held).nnz == 0
    assert given.shape[0] == len(rows) == held.shape[0]
    assert np.all(np.diff(data.matrix.indptr)[rows] == np.diff(held.indptr) + 3)


def test_cold_start_protocol_runs_every_model_on_the_same_seeds() -> None:
    data = load_hetrec(LASTFM)
    train, test = split_users(data, test_fraction=0.34, seed=7)
    models = {
        "content": ContentRecommender.tiny(catalogue=str(CATALOGUE), classifiers=False),
        "popularity": build("popularity"),
    }
    results = evaluate_cold_start(models, train, test, k=10, seeds=3)
    assert set(results) == {"content", "popularity"}
    assert results["content"].users == results["popularity"].users > 0
    assert results["content"].protocol == "cold-start"
    with pytest.raises(ValueError, match="seeds"):
        evaluate_cold_start(models, train, test, seeds=0)


def test_similar_artists_share_tags(fitted: ContentRecommender) -> None:
    tags = fitted.item_tags_
    col = int(np.argmax(np.diff(tags.indptr)))  # the most-tagged artist
    artist = fitted.item_ids_[col]
    found = fitted.similar_artists(artist, 5)
    assert len(found) == 5 and str(artist) not in {n.id for n in found}
    mine = set(tags[col].indices.tolist())
    for neighbour in found[:3]:
        other = fitted.item_columns([int(neighbour.id)])[0]
        assert mine & set(tags[other].indices.tolist())
