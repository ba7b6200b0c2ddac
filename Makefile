# Two commands do all the set-up: `make run` and `make test` (see README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
ROOT := $(shell id -u)

.PHONY: run test bench demo clean chromium

$(BIN)/python:
	@$(PY) -c 'import ensurepip' 2>/dev/null || { \
	  if [ "$(ROOT)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv; \
	  else echo "python3-venv is missing: sudo apt-get install python3-venv"; exit 1; fi; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,bench]'
	@touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/reach serve --demo-if-empty

# Browser tests need Debian's chromium and chromium-driver (and CJK fonts, so screenshots show Chinese names):
# we are root; without them the browser tests skip and say why.
chromium:
	@command -v chromedriver >/dev/null && command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || { \
	  if [ "$(ROOT)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk) \
	    || echo "could not install chromium: browser tests will be skipped"; \
	  else echo "chromium/chromium-driver missing and not root: browser tests will be skipped"; fi; }

test: $(VENV)/.installed-test chromium
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-test
	$(BIN)/python bench/import_throughput.py

demo: $(VENV)/.installed
	$(BIN)/reach demo

clean:
	rm -rf $(VENV) build *.egg-info
