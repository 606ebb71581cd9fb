# The two commands: `make run` (portal + worker + demo data) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/governance

.PHONY: run test venv db migrate lint supply-chain clean-venv js

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt client/pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

db: venv
	$(BIN)/python scripts/ensure_db.py

migrate: db
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py ensure_schedules
	exec scripts/run.sh

# --create-db: a test database kept from an earlier run never hides a changed migration. --durations: the slowest
# tests are printed at the end of every run (CI too), so a suite that grows slow shows where.
test: db js
	$(BIN)/python -m pytest --create-db --durations=25 $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

# The JavaScript clients of the status API that the tests run (tests/js/README.md), from their lockfile.
js: tests/js/node_modules/.installed

tests/js/node_modules/.installed: tests/js/package.json tests/js/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm not found: apt-get install -y nodejs npm"; exit 1; }
	npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
	touch $@

# ruff, then mypy with the django-stubs and drf-stubs plugins (configured in pyproject.toml)
lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

# The project's own supply chain, offline (docs/SUPPLY-CHAIN.md): an SBOM of the pinned requirements, checked against
# the vendored OSV advisories in a database of its own. A missing or empty advisory database fails, never passes.
SUPPLY_DB ?= postgres://postgres@127.0.0.1:5432/governance_supplychain
supply-chain: venv
	mkdir -p build
	DATABASE_URL=$(SUPPLY_DB) $(BIN)/python scripts/ensure_db.py
	DATABASE_URL=$(SUPPLY_DB) $(BIN)/python manage.py migrate --noinput -v 0
	DATABASE_URL=$(SUPPLY_DB) $(BIN)/python manage.py vulndb_import tests/data/conformance/osv-pypa --no-alerts
	$(BIN)/govctl sbom -r requirements.txt -r requirements-dev.txt --name governance-portal --output build/sbom.json
	DATABASE_URL=$(SUPPLY_DB) $(BIN)/python manage.py vulndb_check --sbom build/sbom.json --fail-on high
