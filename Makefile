# The developer commands. `make run` serves the portal on demo data; `make test` runs everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PLUGINS := plugins/dmp plugins/eparcours plugins/eparcours/example_region plugins/prevention plugins/catalog
HOST ?= 127.0.0.1
PORT ?= 8000
# The demonstration runs on a DMP access matrix written for it, NOT the official one (whose annex could not
# be loaded yet: plugins/dmp/bouquet_dmp/data/habilitations/SOURCES.md); the access history names it.
DEMO_DMP_MATRIX ?= $(CURDIR)/plugins/dmp/bouquet_dmp/data/demo/matrix-demonstration.csv

.PHONY: run test fuzz install bench clean

run: $(VENV)/.installed
	$(BIN)/bouquet db upgrade
	$(BIN)/bouquet demo
	@echo ""
	@echo "Bouquet: http://localhost:$(PORT)/  (demo accounts and password: see README.md, section « Comptes de démonstration »)"
	@echo ""
	BOUQUET_BASE_URL=http://localhost:$(PORT) BOUQUET_DMP_MATRIX=$(DEMO_DMP_MATRIX) $(BIN)/bouquet serve --host $(HOST) --port $(PORT)

# One test process per core (pytest-xdist): each has its own PostgreSQL server and Chromium.
TEST_WORKERS ?= auto
test: $(VENV)/.installed-test
	scripts/install-system-deps
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --durations=30 $(PYTEST_ARGS)

# The fuzzers of `make test` (tests/fuzz, plugins/*/tests/test_fuzz.py), with many random examples each.
FUZZ_EXAMPLES ?= 400
fuzz: $(VENV)/.installed-test
	scripts/install-system-deps
	BOUQUET_FUZZ_PROFILE=bouquet-fuzz-long BOUQUET_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		$(BIN)/python -m pytest tests/fuzz plugins/*/tests/test_fuzz.py $(PYTEST_ARGS)

install: $(VENV)/.installed

bench: $(VENV)/.installed-test
	scripts/install-system-deps
	for script in bench/bench_*.py plugins/*/bench/bench_*.py; do $(BIN)/python "$$script" || exit 1; done

$(VENV)/bin/python:
	scripts/make-venv $(PYTHON) $(VENV)

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS))
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e . $(addprefix -e ,$(PLUGINS))
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed $(addsuffix /pyproject.toml,$(PLUGINS))
	$(BIN)/python -m pip install --quiet -e ".[test]" $(foreach plugin,$(PLUGINS),-e "$(plugin)[test]")
	touch $@

clean:
	rm -rf $(VENV) var
