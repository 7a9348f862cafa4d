# The two commands a fresh machine needs: `make demo` and `make test`.
# Each builds the virtual environment from nothing the first time.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test soak bench lint typecheck chromium clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,ray]'
	touch $(STAMP)

# Debian's chromium for the studio's browser tests (Playwright drives it by path).
chromium:
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

demo: $(STAMP)
	$(PY) examples/cifar10-tutorial/demo.py

test: $(STAMP) chromium
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy
	$(PY) -m pytest -m "not soak" -p no:cacheprovider

soak: $(STAMP)
	$(PY) -m pytest -m soak -p no:cacheprovider

bench: $(STAMP)
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) build *.egg-info
