# Shorthands for the two README commands and a few chores.
.PHONY: run test bench lint

run:
	scripts/run

test:
	scripts/test

lint:
	.venv/bin/ruff check . && .venv/bin/mypy .

bench:
	.venv/bin/python bench/import_speed.py
