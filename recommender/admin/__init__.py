"""Curator admin for the catalogue, listeners and what they do.

Every changelist must stay fast on the full demo data (29k tracks, 27k artists, 152k tag
assignments): foreign keys are joined with ``list_select_related`` (``Track.__str__`` reads its
artist, so ``track__artist`` too), big tables skip the full result count, and per-row figures are
correlated subqueries that only run for the rows on the page.
"""

from __future__ import annotations

from recommender.admin import catalogue, common, operations, serving, users

__all__ = ["catalogue", "common", "operations", "serving", "users"]
