# One command to set up and run the app, one to set up and run the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test demo bench package package-gpu deb-smoke screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e ".[test,bench]"
	touch $(STAMP)

## Set up (first time) and start the desktop app.
run: $(STAMP)
	$(BIN)/lookalike-gui

## Set up (first time) and run the whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest -q -ra

## The CLI on the bundled sample photos, in a throwaway catalog.
demo: $(STAMP)
	rm -f /tmp/lookalike-demo.sqlite*
	$(BIN)/lookalike --catalog /tmp/lookalike-demo.sqlite scan resources/samples
	$(BIN)/lookalike --catalog /tmp/lookalike-demo.sqlite duplicates
	$(BIN)/lookalike --catalog /tmp/lookalike-demo.sqlite search resources/samples/coffee.jpg --top 3

## Benchmarks: writes bench/results/*.json and docs/benchmarks.md.
bench: $(STAMP)
	$(BIN)/python -m bench

screenshots: $(STAMP)
	$(BIN)/python bench/screenshots.py

package: $(STAMP)
	bash packaging/build.sh

package-gpu: $(STAMP)
	bash packaging/build.sh --gpu

deb-smoke: $(STAMP)
	bash packaging/smoke.sh

clean:
	rm -rf build dist .pytest_cache
