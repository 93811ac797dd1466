"""The recommendation serving path (reads, with the per-process caches they need).

request -> result cache (per listener, invalidated by a generation counter that feedback and
preference updates bump) -> the listener's state (history, exclusions, recent tracks; cached
per generation) -> candidates (the hybrid's ALS vector against servable artists in faiss,
content neighbours of recent tracks, popular) -> hybrid re-ranking with the online bandit's
weights -> curation rules -> one playable track per artist -> response.

``catalogue``: servable artists and their tracks, per hybrid version. ``state``: listener
state and generations. ``bandit``: the online weights (database row + cache revision).
``curation``: active curation rules. ``users`` / ``groups``: the two recommendation reads.
"""
