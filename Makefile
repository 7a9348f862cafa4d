# The two commands a fresh machine needs: `make demo` and `make test`.
# Each builds the virtual environment from nothing the first time.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO_STAMP := $(VENV)/.demo-stamp

.PHONY: demo test soak bench lint typecheck chromium azurite clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# uv installs in seconds what pip takes minutes for; it ignores pip's configuration
	@# (local indexes, find-links, constraints), which tools/with_pip_config.py hands on.
	@# --compile-bytecode writes the .pyc files pip would: without them every process
	@# (each test's runner, studio and script) compiles SQLAlchemy & co. again, ~1 s each
	@# where PYTHONDONTWRITEBYTECODE is set. The sources under src/ are compiled too.
	$(PY) -m pip install --quiet --disable-pip-version-check 'uv>=0.4'
	PYTHONPATH=src $(PY) tools/with_pip_config.py $(VENV)/bin/uv pip install --quiet \
		--compile-bytecode --python $(PY) -e '.[dev,ray,assets,sweeps,widgets]'
	$(PY) -m compileall -q src
	touch $(STAMP)

# Debian's chromium for the studio's browser tests (Playwright drives it by path).
chromium:
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

# Azurite (npm) for the Azure Blob datastore tests, in .cache/ (git-ignored).
azurite:
	@test -x .cache/azurite/node_modules/.bin/azurite-blob || npm install --prefix .cache/azurite --no-audit --no-fund azurite

# The demo needs Runyard alone (the `demo` extra): its run gets its own environment
# (torch's CPU build), built by uv on first use. Dev tools and Ray stay for `make test`.
$(DEMO_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "make demo: installing Runyard and its runtime dependencies into $(VENV) (pip lists each)"
	$(PY) -m pip install --disable-pip-version-check --progress-bar on -e '.[demo]'
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(PY) examples/cifar10-tutorial/demo.py

test: $(STAMP) chromium azurite
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/mypy
	$(PY) -m pytest -m "not soak" -p no:cacheprovider

soak: $(STAMP)
	$(PY) -m pytest -m soak -p no:cacheprovider

bench: $(STAMP)
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) build *.egg-info
