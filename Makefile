# hvcase: the two commands (`make run`, `make test`) and a few more.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app hvcase

.PHONY: run test lint format migrate bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Create .venv, migrate the embedded SQLite database, load demo data, serve on :5000.
run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) run --host 127.0.0.1 --port 5000

## Create .venv if needed and run the whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Ruff, then the declared layers (pyproject's [tool.importlinter]): no import runs up them.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache --no-logo

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Write a new migration from the models: make migrate m="what changed"
migrate: $(STAMP)
	$(FLASK) db migrate -m "$(m)"

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
