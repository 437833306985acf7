# The README's two commands: `make demo` and `make test`. Each builds .venv first when it is missing or stale.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The `models` extra (torch, sentence-transformers, fastText): the tests need it, the demo does not.
MODELS_STAMP := $(VENV)/.installed-models
DEMO_DIR := build/demo
export SPARK_LOCAL_IP ?= 127.0.0.1
export PYTHONUNBUFFERED := 1

.PHONY: venv models-venv demo test lint bench dist clean

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

models-venv: $(MODELS_STAMP)

$(MODELS_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev,models]'
	touch $(MODELS_STAMP)

demo: venv
	rm -rf $(DEMO_DIR)
	$(BIN)/thresher demo-corpus $(DEMO_DIR)/corpus.jsonl --docs 3000
	$(BIN)/thresher run conf/demo.yaml --input $(DEMO_DIR)/corpus.jsonl --output $(DEMO_DIR)/run

test: models-venv
	$(BIN)/ruff check lib tests bench jobs
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check lib tests bench jobs
	$(BIN)/ruff format --check lib tests bench jobs

bench: models-venv
	$(BIN)/python -m bench.run_all

dist: venv
	$(BIN)/python -m pip wheel --no-deps -w dist .

clean:
	rm -rf build dist $(VENV) .pytest_cache .ruff_cache
