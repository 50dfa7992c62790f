# Set-up and everyday commands. Needs only Python 3.11+ (python3 on PATH, or PYTHON=...).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: site test check clean bench serve

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Briefkit needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

site: $(STAMP)
	$(BIN)/python build.py build
	@echo "Open $(CURDIR)/site/index.html in a browser (or: $(BIN)/python -m http.server -d site 8000)"

# Serves the built site on 127.0.0.1:8000 (a plain static server: rebuild with `make site`).
serve: site
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory site 8000

check: $(STAMP)
	$(BIN)/python build.py check

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf site .site.tmp-* .site.old-* $(VENV) .pytest_cache

bench: $(STAMP)
	$(BIN)/python bench/run.py
