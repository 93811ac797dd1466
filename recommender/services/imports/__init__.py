"""Importers of the real data sets: idempotent, transactional, each row accounted for.

Policy (also in the README):

* **Damaged file** — missing, wrong header, undecodable, truncated, or more than 1 % malformed
  rows: the import fails with one line and writes nothing (one transaction per import).
* **Bad row** — a value that does not parse or is out of range: skipped and reported as
  ``file:line: reason``; the import goes on.
* **Dangling reference** — a row naming an artist or tag missing from the catalogue files (an
  upstream HetRec quirk): skipped and counted in the summary.

Re-running an import updates rows in place (upserts on natural keys) and never duplicates them.
"""

from __future__ import annotations

from recommender.services.imports.common import ImportReport
from recommender.services.imports.lastfm import lastfm_import
from recommender.services.imports.moods import moods_import
from recommender.services.imports.tracks import tracks_import

__all__ = ["ImportReport", "lastfm_import", "moods_import", "tracks_import"]
