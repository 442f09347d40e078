# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: install run test harvest bench clean browser-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Harvests sources that have no graph yet (a restart serves what is stored), then serves.
run: install
	$(BIN)/catalogue harvest --only-new
	$(BIN)/catalogue serve

harvest: install
	$(BIN)/catalogue harvest

# Best-effort: Debian's chromium (as root, via apt-get) and tests/browser/node_modules (npm ci).
# Where they cannot be had, the browser tests skip and say why.
browser-deps: install
	-$(BIN)/python tests/test_browser.py

test: install browser-deps
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/search.py --sizes 10000,100000
	$(BIN)/python bench/relevance.py

clean:
	rm -rf $(VENV) data
