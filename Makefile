# predscore — run `make` (or `make help`) for the list of targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= data/demo
SEED ?= 42

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

## system: Debian packages the project needs when missing (Java 17 for Spark, Chromium for the browser tests, PostgreSQL for the database tests)
system:
	@command -v java >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Java 17 (Spark engine)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; } \
	      || echo "could not install Java 17 (not root?): --engine spark and its tests are unavailable"; \
	  else echo "java not found and no apt-get: --engine spark and its tests are unavailable"; fi; }
	@test -x /usr/bin/chromium || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (browser tests of the pages)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	      || echo "could not install chromium: the browser tests of the pages will be skipped"; \
	  else echo "/usr/bin/chromium not found and no apt-get: the browser tests of the pages are skipped"; fi; }
	@{ command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; } || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing PostgreSQL (the database tests start a server of their own)"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } \
	      || echo "could not install PostgreSQL: the PostgreSQL tests will be skipped"; \
	  else echo "PostgreSQL not found and no apt-get: the PostgreSQL tests are skipped"; fi; }

## install: create .venv and install predscore with its development tools
install: system $(STAMP)

## demo: install, then run the pipeline so far on built-in demo data (data/demo)
demo: install
	$(BIN)/predscore demo-data --out $(DATA) --seed $(SEED)
	$(BIN)/predscore validate --data $(DATA) --as-of 2026-10-01 --segments --out $(DATA)/validated
	$(BIN)/predscore features --data $(DATA)/validated --validated --as-of 2026-10-01 --out $(DATA)/features.parquet
	$(BIN)/predscore features --data $(DATA)/validated --validated --snapshots --out $(DATA)/snapshots.parquet
	$(BIN)/predscore train --data $(DATA)/validated --validated
	$(BIN)/predscore promote
	$(BIN)/predscore evaluate --data $(DATA)/validated --validated --out $(DATA)/evaluation
	$(BIN)/predscore score --data $(DATA)/validated --validated --as-of 2026-10-01 --out $(DATA)/scores --overwrite
	@echo "demo outputs in $(DATA)/: five raw tables, validated/ (clean tables + rejections.parquet),"
	@echo "  features.parquet (open leads as of 2026-10-01), snapshots.parquet (training snapshots),"
	@echo "  evaluation/ (metrics.json: model vs rules, plots/), scores/ (scores.parquet: every open"
	@echo "  lead ranked with probability, tier, route and reasons; rejections.parquet; manifest.json);"
	@echo "  MLflow store in mlflow/ (mlflow ui"
	@echo "  --backend-store-uri sqlite:///mlflow/mlflow.db), champion model exported to models/champion/"

## test: install, lint, build the docs (strict), then run the test suite, notebooks included (CI runs exactly this)
test: lint
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir "$$(mktemp -d)"
	$(BIN)/python -m pytest -m "not slow" -q -n auto

## test-all: every test, slow ones included
test-all: install
	$(BIN)/python -m pytest -q -n auto

## lint: ruff lint, format check and import layering
lint: install
	$(BIN)/ruff check src tests notebooks
	$(BIN)/ruff format --check src tests notebooks
	$(BIN)/lint-imports

## format: apply ruff fixes and formatting
format: install
	$(BIN)/ruff check --fix src tests notebooks
	$(BIN)/ruff format src tests notebooks

## bench: heavy measurements (time, memory, POST /score latency) — not part of `make test` (BENCH=serve runs one)
bench: install
	$(BIN)/python benchmarks/run.py $(BENCH)

## results: rule baseline (and model rows) on the demo and public data sets → results/ (ONLY=name runs one)
results: install
	$(BIN)/python benchmarks/results.py --out results/ $(if $(ONLY),--only $(ONLY))
.PHONY: results

## docs: build the documentation site into site/ (mkdocs build --strict)
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## validate: validate $(DATA)
validate: install
	$(BIN)/predscore validate --data $(DATA)

## serve: the reps' web app and POST /score over $(DATA)/scores (needs PREDSCORE_API_TOKEN)
serve: install
	$(BIN)/predscore serve --scores $(DATA)/scores

## report: one self-contained HTML report of $(DATA)/scores → $(DATA)/report.html
report: install
	$(BIN)/predscore report --scores $(DATA)/scores --out $(DATA)/report.html

## clean: remove generated data, caches, the built site and the virtual environment
clean:
	rm -rf $(VENV) data mlflow mlruns models/champion site .pytest_cache .ruff_cache .hypothesis build dist src/*.egg-info

## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed -e 's/^## //' | awk -F': ' '{printf "  %-10s %s\n", $$1, $$2}'

.PHONY: system install demo test test-all lint format bench docs validate serve report clean help
