"""Writes of the recommender app (STYLE rule 2), one module per sub-domain."""
