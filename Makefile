# One command to run, one to test; each makes .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The modules setup.py compiles with mypyc (its COMPILED list), and the stamp of their build.
COMPILED := $(shell sed -n 's/^    "\(bulkport\/.*\.py\)",$$/\1/p' setup.py)
BUILT := $(VENV)/.compiled

.PHONY: run test lint typecheck unit integration e2e clean lock bench bench-quick compiled pure

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	$(BIN)/python -m pip check
	touch $(STAMP)

## Compile the import's hot modules with mypyc (C extensions beside their .py files); again
## whenever one of them changes. The .py files run wherever no build was made.
compiled: $(BUILT)
$(BUILT): $(STAMP) setup.py $(COMPILED)
	BULKPORT_COMPILE=1 $(BIN)/python setup.py --quiet build_ext --inplace --parallel 2
	touch $(BUILT)

## Remove the compiled modules: bulkport runs as pure Python again. The build folder goes too:
## setuptools would copy its old libraries back with their old times, older than a source
## touched meanwhile, and the stale-build check would refuse them.
pure:
	rm -rf $(BUILT) $(COMPILED:.py=.cpython-*.so) $(COMPILED:.py=__mypyc.cpython-*.so) build

## Start everything: API + docs on :8000, a worker, Flower on :5555, Redis and SQLite if none set.
run: $(BUILT)
	$(BIN)/bulkport up

## Lint, type-check and run every test (unit, integration, end to end).
test: lint typecheck $(BUILT)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy bulkport tests examples

unit: $(BUILT)
	$(BIN)/python -m pytest tests/unit

integration: $(BUILT)
	$(BIN)/python -m pytest tests/integration

e2e: $(BUILT)
	$(BIN)/python -m pytest tests/e2e

## Benchmarks beside their floors (bench/README in docs/performance.md); BENCH_ARGS="--only pg-import".
bench: $(BUILT)
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-quick: $(BUILT)
	$(BIN)/python -m bench --quick

clean: pure
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache

## Re-pin every installed package after changing pyproject.toml.
lock: $(STAMP)
	( echo '# Exact versions of everything installed (constraints for pip). Regenerate with `make lock`.'; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' ) > requirements.lock
