"""Services of the groups app (writes and model-backed answers), one module per sub-domain."""
