"""Celery tasks: take ids, call a service, own the retry policy (STYLE rule 7).

Inside one attempt the client already waits out short 429s and retries 5xx a few times; what
still fails transiently (a long ``Retry-After``, an outage) is retried here with a countdown,
and each attempt resumes from the stored cursors. A permanent error, or the last retry, ends in
``_spotify_sync_failure``, which records the reason on the run for the Spotify page.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from audotics.errors import ApplicationError
from spotify_sync.errors import SpotifySyncError
from spotify_sync.services import sync_run_execute, sync_run_fail

logger = logging.getLogger(__name__)

MAX_RETRIES = 4
BACKOFF_S = 60  # 1, 2, 4, 8 minutes


def _spotify_sync_failure(run_id: int, error: Exception) -> None:
    message = getattr(error, "message", "") or f"unexpected error ({type(error).__name__})"
    sync_run_fail(run_id=run_id, message=message)


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)  # type: ignore[untyped-decorator]
def spotify_sync(self: Any, run_id: int) -> None:
    """Ingest one user's Spotify: recently played, top lists, saved tracks, playlists."""
    try:
        sync_run_execute(run_id=run_id)
    except SpotifySyncError as exc:
        if not exc.permanent and self.request.retries < self.max_retries:
            if self.request.is_eager:
                # The embedded default has no worker to come back later (and an eager
                # ``retry`` would only raise): the next attempt runs now, from the cursors.
                self.apply(args=(run_id,), retries=self.request.retries + 1)
                return
            countdown = exc.retry_after or BACKOFF_S * 2**self.request.retries
            raise self.retry(exc=exc, countdown=countdown) from None
        logger.warning("spotify sync %s failed: %s", run_id, exc.message)
        _spotify_sync_failure(run_id, exc)
    except ApplicationError as exc:  # e.g. disconnected before the run started
        _spotify_sync_failure(run_id, exc)
    except Exception as exc:  # a bug: recorded on the run, and still raised and logged
        _spotify_sync_failure(run_id, exc)
        raise
