# Two entry points: `make repro` (the pipeline) and `make test` (the test suite).
# Both build .venv first if it is missing or stale (scripts/bootstrap.sh; seconds when up to date).
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: env repro test bench check-repro
env:
	@bash scripts/bootstrap.sh

repro: env
	dvc repro

check-repro: env
	python scripts/check_reproduction.py

test: env
	python -m pytest -n auto --dist worksteal

bench: env
	python benchmarks/bench_unify_labels.py
	python benchmarks/bench_translator.py
	python benchmarks/bench_seg.py
	python benchmarks/bench_cyclegan.py
	python benchmarks/bench_normalizers.py
