# Two entry points for a fresh machine: `make demo` (the main job) and `make test` (the suite).
# Both create .venv and install what they need; `make demo` needs no root and no system
# package, `make test` also installs the test-only system packages (R's survey, Chromium).
# Python packages install at the exact versions of requirements/lock.txt (a pip constraints
# file: the ranges stay in pyproject.toml, the lock picks the release); `make lock` refreshes it.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
LOCK := requirements/lock.txt
PIP_INSTALL := $(PY) -m pip install --quiet --constraint $(LOCK)
APT_PACKAGES := r-cran-survey chromium

.PHONY: setup setup-test system-packages demo test test-fast lint lock

$(VENV)/.installed: pyproject.toml $(LOCK)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) -e '.[studio]'
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP_INSTALL) -e '.[test]'
	touch $@

lock:  ## resolve .[test] afresh (newest releases pyproject.toml allows), then: make test
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) requirements/lock.py

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing system packages:$$missing (install them with apt-get)"; exit 1; fi; \
	fi

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed-test system-packages

demo: setup
	$(VENV)/bin/curate demo audit-demo

test: setup-test
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q --timeout 900 -p no:cacheprovider

test-fast: setup-test  ## the inner loop: no Monte Carlo, no Label Studio, no git + DVC repositories
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -x --timeout 300 -p no:cacheprovider -m "not slow and not studio and not dvc"

lint: setup-test
	$(VENV)/bin/ruff check .
