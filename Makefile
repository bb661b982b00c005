# colorgan: `make train` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help install train test test-slow test-all lint format clean

help:  ## show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[dev,app]"
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install colorgan with dev tools and the web page

train: $(STAMP)  ## train on built-in synthetic data (a few minutes on CPU, no download)
	$(PY) train.py experiment=quickstart $(ARGS)

test: $(STAMP)  ## run the test suite (no slow tests)
	$(PY) -m pytest -q $(ARGS)

test-slow: $(STAMP)  ## run only the slow tests
	$(PY) -m pytest -q -m slow $(ARGS)

test-all: $(STAMP)  ## run every test
	$(PY) -m pytest -q -m "slow or not slow" $(ARGS)

lint: $(STAMP)  ## ruff check
	$(PY) -m ruff check colorgan tests benchmarks experiments train.py eval.py

format: $(STAMP)  ## ruff format + autofix
	$(PY) -m ruff check --fix colorgan tests benchmarks train.py
	$(PY) -m ruff format colorgan tests benchmarks train.py

clean:  ## remove run outputs and caches (keeps .venv)
	rm -rf logs outputs multirun wandb .pytest_cache .ruff_cache build dist *.egg-info
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
