# One command to run, one to test; each makes .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit integration e2e clean lock bench bench-quick

# One line per step; a step's own output goes to the log and is shown only if it fails.
LOG := $(VENV)/install.log
LOGGED = >>$(LOG) 2>&1 || { cat $(LOG); echo "Failed; the output above is in $(LOG)."; exit 1; }
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check

$(STAMP): pyproject.toml requirements.lock
	@echo "Setting up $(VENV) (details in $(LOG))"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@: > $(LOG)
	@echo "  pip 26.3"
	@$(PIP) install --progress-bar off --upgrade pip==26.3 $(LOGGED)
	@echo "  bulkport and its pinned dependencies (requirements.lock)"
	@$(PIP) install --progress-bar off -c requirements.lock -e ".[dev]" $(LOGGED)
	@echo "  pip check"
	@$(PIP) check $(LOGGED)
	@touch $(STAMP)

## Start everything: API + docs on :8000, a worker, Flower on :5555, Redis and SQLite if none set.
run: $(STAMP)
	$(BIN)/bulkport up

## Lint, type-check and run every test (unit, integration, end to end).
test: lint typecheck $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy bulkport tests examples

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

## Benchmarks beside their floors (bench/README in docs/performance.md); BENCH_ARGS="--only pg-import".
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick

clean:
	rm -rf build $(VENV) var .mypy_cache .ruff_cache .pytest_cache

## Re-pin every installed package after changing pyproject.toml.
lock: $(STAMP)
	( echo '# Exact versions of everything installed (constraints for pip). Regenerate with `make lock`.'; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' ) > requirements.lock
