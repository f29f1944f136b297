# Two commands do everything: `make demo` runs the hub, `make test` proves it.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: help deps demo test lint bench clean

help:
	@echo "make demo   install what is missing, start mosquitto + InfluxDB + the hub + simulated devices"
	@echo "make test   install what is missing, run ruff, mypy and the whole test suite (real services)"
	@echo "make lint   ruff + mypy"
	@echo "make bench  run the benchmarks (quick mode)"

deps:
	@bash scripts/setup.sh

demo: deps
	@$(VENV)/bin/tracehub demo

test: deps
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@$(PY) -m mypy
	@$(VENV)/bin/lint-imports
	@$(PY) -m pytest

lint: deps
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@$(PY) -m mypy
	@$(VENV)/bin/lint-imports

bench: deps
	@for b in bench/*.py; do n=$$(basename $$b .py); [ "$$n" = "__init__" ] || $(PY) -m bench.$$n --quick; done

clean:
	rm -rf .state .pytest_cache .mypy_cache .ruff_cache
