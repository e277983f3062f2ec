# The two commands of the README: `make run` and `make test`. Each creates or reuses .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test services bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# The 5.0.91 SDK installs under the same distribution name as 6.0.2, so it lives in its
	# own target directory; tests put it on sys.path as the `clicksend_client` package.
	$(BIN)/pip install --quiet --no-deps --target $(VENV)/sdk5 clicksend-client==5.0.91 six
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/dovecote serve --host $${DOVECOTE_HOST:-127.0.0.1} --port $${DOVECOTE_PORT:-8080}

services:
	@scripts/ensure-services

test: $(STAMP) services
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src tests
	$(BIN)/lint-imports
	$(BIN)/pytest -q -p no:cacheprovider -n 2 --durations=15

# Each benchmark is a script of its own (bench/README.md says what each measures and
# records the figures); this runs none, it lists them.
bench: $(STAMP)
	@ls bench/*.py && echo "run one: PYTHONPATH=src $(BIN)/python bench/<name>.py --help"

clean:
	rm -rf $(VENV) dovecote.db dovecote.db-wal dovecote.db-shm
