"""Property-based fuzzing of every operation in the live OpenAPI schema (schemathesis 4).

The schema is the one drf-spectacular serves at ``/api/v1/schema/``; every operation in it gets
``MAX_EXAMPLES`` schema-conforming (positive) and ``MAX_EXAMPLES`` schema-violating (negative)
requests from Hypothesis, sent by a signed-in listener (token auth) to the in-process WSGI app
over a small seeded catalogue. Every answer must be:

* never a 5xx, except 503 ``{"code": "model_not_ready"}`` (no model is trained here);
* every 4xx a JSON ``{"code", "message", ...}`` with ``"fields"`` when the code is
  ``validation_error`` (``audotics/api/exception_handler.py``);
* for negative requests, a 4xx (not a 2xx, nor a 503 before validation) wherever the violation
  survives to the server. schemathesis's ``negative_data_rejection`` check decides that, and it
  already lets through what the wire erases (an extra query parameter, a number sent as text, a
  form value that reads as valid text...); ``_wire_erases_violation`` adds two form-body cases.
  drf-spectacular's body schemas allow extra properties, so extra body keys are valid.

Not checked: positive requests may get a 4xx (unknown ids, a group you are not in, cross-field
rules such as "exactly one of other or group" that the schema cannot say). An operation with
nothing to violate (no parameters, or only a bare string path parameter) skips its negative run.

Positive requests use real ids and names from the seeded data half of the time (``world.known``,
by parameter or body field name), so they reach the views' real code paths and not only their
404s. ``derandomize=True`` makes every run send the same requests; AUDOTICS_FUZZ_EXAMPLES=300
runs a deeper search (about two minutes).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import Case, GenerationMode
from schemathesis.core import NotSet
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import negative_data_rejection
from werkzeug.test import Client

from audotics.wsgi import application
from groups.models import Membership
from recommender.models import Genre
from tests.factories import (
    ArtistFactory,
    ArtistPlayCountFactory,
    GenreFactory,
    ListeningGroupFactory,
    TrackFactory,
    UserFactory,
)

MAX_EXAMPLES = int(os.environ.get("AUDOTICS_FUZZ_EXAMPLES", "25"))
SCHEMA_URL = "/api/v1/schema/?format=json"
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]

# Loaded once at collection: the schema view needs no database.
SCHEMA = schemathesis.openapi.from_wsgi(SCHEMA_URL, application)
# The security schemes are satisfied by the listener's token, sent with every call.
SCHEMA.config.generation.update(with_security_parameters=False)
_LOADED = list(SCHEMA.get_all_operations())
OPERATIONS = sorted(result.ok().label for result in _LOADED if isinstance(result, Ok))
UNREADABLE = [str(result.err()) for result in _LOADED if not isinstance(result, Ok)]


def _no_5xx_but_model_not_ready(status: int, body: Any) -> bool:
    if status < 500:
        return True
    return status == 503 and isinstance(body, dict) and body.get("code") == "model_not_ready"


def _error_shape_problem(body: Any) -> str | None:
    """Why a 4xx body is not ``{"code": str, "message": str, ...}``; None when it is."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if not isinstance(body.get("code"), str) or not isinstance(body.get("message"), str):
        return 'the body lacks a string "code" or "message"'
    if body["code"] == "validation_error":
        fields = body.get("fields")
        if not isinstance(fields, dict) or not fields:
            return 'a validation_error without a non-empty "fields" object'
        if not all(isinstance(v, list) and v for v in fields.values()):
            return 'a "fields" entry is not a non-empty list of messages'
    return None


class _World:
    """What the seeded database holds: the listener's token and real values by name."""

    def __init__(self, token: str, known: dict[str, list[Any]]) -> None:
        self.token = token
        self.known = known


@pytest.fixture
def world(db: Any, settings: Any, tmp_path: Path) -> Iterator[_World]:
    settings.ML_STORE_DIR = tmp_path / "models"  # nothing trained: 503 model_not_ready
    cache.clear()  # the request throttles count in the cache: each test starts with a full budget
    # Like Django's test client: keep the test's transaction's connection across requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)

    rock = GenreFactory(name="rock")
    GenreFactory(name="jazz")
    artists = [ArtistFactory(name=name) for name in ("Daft Punk", "Muse", "Björk")]
    tracks = [TrackFactory(artist=artists[i % len(artists)]) for i in range(6)]
    for track in tracks[:4]:
        track.genres.add(rock)
    user = UserFactory(username="fuzzer")
    friend = UserFactory(username="friend")
    for listener in (user, friend):
        for artist in artists[:2]:
            ArtistPlayCountFactory(user=listener, artist=artist, play_count=12)
    group = ListeningGroupFactory(owner=user, name="Fuzz room")
    Membership.objects.create(group=group, user=user, role=Membership.Role.HOST)
    Membership.objects.create(group=group, user=friend, role=Membership.Role.MEMBER)
    stranger_group = ListeningGroupFactory(name="Not mine")
    token = Token.objects.create(user=user).key

    ids = [t.spotify_id for t in tracks]
    groups = [group.pk, stranger_group.pk]
    genres = list(Genre.objects.values_list("name", flat=True))
    names = [a.name for a in artists]
    known: dict[str, list[Any]] = {
        "spotify_id": ids,
        "track": ids,
        "track_id": ids,
        "seed_track": ids,
        "group": groups,
        "group_id": groups,
        "pk": groups,
        "user": [user.pk, friend.pk],
        "user_id": [user.pk, friend.pk],
        "other": [friend.username],
        "other_user": [friend.username],
        "genre": genres,
        "seed_genres": [genres[:1], genres],
        "seed_artists": [names[:1], names],
        "code": [group.code],
    }
    try:
        yield _World(token=token, known=known)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _use_known_values(
    case: Case[Any], known: dict[str, list[Any]], draw: Callable[..., Any]
) -> None:
    """Swap generated values for real ones, each with probability 1/2 (positive cases only).

    Only values that already fit the schema are swapped in, so the case stays positive.
    """
    containers: list[dict[str, Any]] = [case.path_parameters, case.query]
    if isinstance(case.body, dict):
        containers.append(case.body)
    for container in containers:
        for name in sorted(container):
            if name in known and draw(st.booleans()):
                value = draw(st.sampled_from(known[name]))
                if isinstance(container[name], type(value)) and not isinstance(value, bool):
                    container[name] = value


def _wire_erases_violation(case: Case[Any]) -> bool:
    """Form bodies whose violation never reaches the server, beyond what schemathesis knows.

    * A non-object (``[]``, ``3``) cannot be written as form fields: the server gets an empty or
      unparsable form, which is valid where every field is optional.
    * Werkzeug's test-client multipart encoder writes an empty value without the line break
      before the next boundary, so Django reads no fields at all from such a body (a blank list
      item sent as JSON is rejected: ``tests/recommender/apis/test_input_errors.py``).
    """
    media_type = (case.media_type or "").split(";")[0].strip()
    if media_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return False
    if not isinstance(case.body, dict):
        return not isinstance(case.body, NotSet)
    if media_type == "multipart/form-data":
        values = [
            v
            for value in case.body.values()
            for v in (value if isinstance(value, list) else [value])
        ]
        return "" in values
    return False


def _fuzz(operation_label: str, mode: GenerationMode, world: _World) -> None:
    operation = SCHEMA.find_operation_by_label(operation_label)
    assert operation is not None, operation_label
    if mode is GenerationMode.NEGATIVE and not (
        any(True for _ in operation.iter_parameters()) or len(operation.body)
    ):
        pytest.skip("no parameters and no body: nothing to violate")
    strategy = operation.as_strategy(generation_mode=mode)
    headers = {"Authorization": f"Token {world.token}"}

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        # Schema-driven data is large and the first draws compile the schema.
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(strategy, label="case")
        if mode is GenerationMode.POSITIVE:
            _use_known_values(case, world.known, data.draw)
        response = case.call(headers=headers)
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        where = f"{case.method} {response.request.url} -> {status}: {response.text[:300]!r}"
        assert _no_5xx_but_model_not_ready(status, body), f"server error: {where}"
        if 400 <= status < 500:
            problem = _error_shape_problem(body)
            assert problem is None, f"{problem}: {where}"
        if mode is GenerationMode.NEGATIVE and not _wire_erases_violation(case):
            # A 2xx for data the schema forbids (where the server can see the violation) fails;
            # so does a 503: the input must be validated before the model is looked for.
            model_first = status == 503
            if model_first:
                response.status_code = 200  # judge it as if the server had gone on
            try:
                case.validate_response(response, checks=[negative_data_rejection], headers=headers)
            except FailureGroup:
                if model_first:
                    raise AssertionError(
                        f"invalid input answered before validation: {where}"
                    ) from None
                raise

    try:
        run()
    except Unsatisfiable:
        if mode is not GenerationMode.NEGATIVE:
            raise
        # e.g. a bare {"type": "string"} path parameter: every value is schema-valid.
        pytest.skip("the schema admits every value of these parameters: nothing to violate")


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_survives_fuzzing(
    operation: str, mode: GenerationMode, world: _World
) -> None:
    _fuzz(operation, mode, world)


def test_the_schema_covers_the_api() -> None:
    # Guards the fuzzer against an empty or truncated schema (it would pass vacuously).
    assert {"GET /api/v1/me", "POST /api/v1/feedback", "GET /api/v1/tracks"} <= set(OPERATIONS)
    assert UNREADABLE == [], "schemathesis could not read these operations"


@pytest.mark.parametrize("operation", OPERATIONS)
def test_anonymous_calls_get_the_error_shape(operation: str, world: _World) -> None:
    op = SCHEMA.find_operation_by_label(operation)
    assert op is not None
    response = op.Case(path_parameters={name: "x" for name in _path_names(operation)}).call()
    body = response.json() if response.content else None
    assert _no_5xx_but_model_not_ready(response.status_code, body), response.text[:300]
    if response.status_code >= 400:
        assert _error_shape_problem(body) is None, response.text[:300]
    if operation != "GET /api/v1/catalogue/summary":
        assert response.status_code in (401, 403), (operation, response.status_code)


def test_unrouted_api_paths_get_the_error_shape(world: _World) -> None:
    # schemathesis leaves '/' out of generated path parameters, so the fuzzer never sends this.
    client = Client(application)
    for path in ("/api/v1/tracks/a%2Fb", "/api/v1/tracks/x/similar/more", "/api/v1/nope"):
        response = client.get(path, headers={"Authorization": f"Token {world.token}"})
        assert response.status_code == 404
        try:
            body = json.loads(response.get_data())
        except ValueError:
            body = None
        assert _error_shape_problem(body) is None, (path, response.text[:100])


def _path_names(label: str) -> list[str]:
    path = label.split(" ", 1)[1]
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def test_error_shape_helper() -> None:
    assert _error_shape_problem({"code": "not_found", "message": "no", "extra": {}}) is None
    assert _error_shape_problem({"detail": "Not found."}) is not None
    assert _error_shape_problem({"code": "validation_error", "message": "bad"}) is not None
    assert _error_shape_problem(json.loads('{"code": "x", "message": "y"}')) is None
    assert _error_shape_problem("<h1>Not Found</h1>") is not None
