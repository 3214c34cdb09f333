# One command to set up and run the app, one to set up and run the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# One stamp per install: each target installs what it needs, once (again when pyproject.toml changes).
APP    := $(VENV)/.installed-app
TESTS  := $(VENV)/.installed-test
BENCH  := $(VENV)/.installed-bench

.PHONY: run test reliability-report demo bench package package-gpu deb-smoke screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

$(APP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e .
	touch $@

$(TESTS): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e ".[test]"
	touch $@

$(BENCH): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e ".[bench]"
	touch $@

## Set up (first time) and start the desktop app, after checking (and, with root or
## sudo, installing) the system libraries Qt needs to open a window.
run: $(APP)
	$(BIN)/python -m lookalike.ui.preflight --install
	$(BIN)/lookalike-gui

## Set up (first time) and run the whole test suite. It writes no tracked file: the
## reliability table goes to build/reliability.md.
test: $(TESTS)
	$(BIN)/python -m pytest -q -ra

## Run the reliability suite and regenerate docs/reliability.md from it.
reliability-report: $(TESTS)
	LOOKALIKE_RELIABILITY_REPORT=docs/reliability.md $(BIN)/python -m pytest -q -ra tests/reliability

## The CLI on the bundled sample photos, in a throwaway catalog.
demo: $(APP)
	rm -f /tmp/lookalike-demo.sqlite*
	$(BIN)/lookalike --catalog /tmp/lookalike-demo.sqlite scan resources/samples
	$(BIN)/lookalike --catalog /tmp/lookalike-demo.sqlite duplicates
	$(BIN)/lookalike --catalog /tmp/lookalike-demo.sqlite search resources/samples/coffee.jpg --top 3

## Benchmarks: writes bench/results/*.json and docs/benchmarks.md.
bench: $(BENCH)
	$(BIN)/python -m bench

screenshots: $(APP)
	$(BIN)/python bench/screenshots.py

package: $(APP)
	bash packaging/build.sh

package-gpu: $(APP)
	bash packaging/build.sh --gpu

deb-smoke: $(APP)
	bash packaging/smoke.sh

clean:
	rm -rf build dist .pytest_cache
