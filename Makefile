# The two commands of the README. Each installs what is missing first (bin/setup).
.PHONY: run test setup lint bench

run: setup
	bin/run

test: setup
	bin/test

setup:
	bin/setup

lint:
	.venv/bin/ruff check .

bench: setup
	.venv/bin/python bench/codec.py
