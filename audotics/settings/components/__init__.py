"""One module per integration; each exposes pure functions that base.py calls with env values."""
