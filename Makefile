# Entry points. Each target installs what it needs first, so both work on a fresh clone
# with only Python 3.11+ and access to the package registry. `uv sync` brings the dev group
# and with it the dev-stack and charts extras, which the production image leaves out.
SHELL := /bin/bash
PYTHON ?= python3
# uv from PATH, else a private copy installed from PyPI into .tools/ (never the system Python).
UV := $(shell command -v uv 2>/dev/null || echo .tools/uv/bin/uv)

.PHONY: demo test test-matrix install lint typecheck unit dev down clean

$(UV):
	$(PYTHON) -m venv .tools/uv
	.tools/uv/bin/pip install --quiet uv

install: $(UV)
	$(UV) sync --locked

demo: install
	$(UV) run ledgerd demo

test: install lint typecheck unit

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run hadolint Dockerfile

typecheck: install
	$(UV) run mypy .

unit: install
	$(UV) run pytest -q

# Every daemon with every registry model in every role (make test runs a subset).
test-matrix: install
	LEDGERD_MATRIX=full $(UV) run pytest -q tests/test_model_matrix.py

dev: install
	$(UV) run ledgerd dev

down: install
	$(UV) run ledgerd dev --down

clean:
	-$(UV) run ledgerd dev --down
	rm -rf .state .tools .venv
