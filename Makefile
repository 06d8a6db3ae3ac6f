# The course's commands. Each target sets up what it needs and is safe to repeat:
# the environment is only (re)installed when pyproject.toml or the lock file changed.
#
#   make run    execute every notebook into build/ (the committed ones stay untouched)
#   make test   unit tests + nbval over notebooks/
#   make lab    open JupyterLab on notebooks/
#   make data   fetch and verify MNIST only
#   make student  write student versions (no solutions) into release/
#
# USE_LOCK=0 installs from the ranges in pyproject.toml instead of the tested lock
# (for a platform the lock does not cover); PYTHON=python3.12 picks another interpreter.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
USE_LOCK ?= 1
LOCK := requirements-lock.txt
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

# Prefer the environment's own Jupyter kernels over any in the user's home.
export JUPYTER_PREFER_ENV_PATH := 1
export PYTHONNOUSERSITE := 1

.PHONY: help install run test lab data student lock clean
.DEFAULT_GOAL := help

help:
	@sed -n '3,9p' Makefile | sed 's/^# \{0,1\}//'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; ok = (3, 10) <= v < (3, 14); \
	  print("Python %d.%d found; this course needs Python 3.10 to 3.13 (set PYTHON=python3.x)." % v) if not ok else None; \
	  sys.exit(not ok)'
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml $(LOCK)
	@if [ "$(USE_LOCK)" = 1 ] && $(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then \
	  echo "Installing the tested package set from $(LOCK) ..."; \
	  $(BIN)/python -m pip install --disable-pip-version-check -q -r $(LOCK); \
	else \
	  echo "Installing from the version ranges in pyproject.toml (the lock is for Python 3.11) ..."; \
	  $(BIN)/python -m pip install --disable-pip-version-check -q "setuptools>=68" wheel; \
	fi
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (MNIST course)" >/dev/null
	@touch $@
	@echo "Environment ready in $(VENV)/"

install: $(STAMP)

data: $(STAMP)
	$(BIN)/python -m helpers.data fetch

run: data
	$(BIN)/python scripts/run_notebooks.py --out build notebooks

test: data
	$(BIN)/python -m pytest $(NBVAL_FLAGS) notebooks tests

lab: data
	$(BIN)/jupyter lab notebooks/

student: $(STAMP)
	$(BIN)/python scripts/make_student.py --out release

# Re-resolve the lock from pyproject.toml's ranges in a scratch environment (Python 3.11).
lock:
	rm -rf build/lock-venv && $(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/python -m pip install -q "setuptools>=68" wheel -e .
	{ sed -n '1,2p' $(LOCK); build/lock-venv/bin/python -m pip freeze --all --exclude-editable \
	  | grep -v -E '^(pip|mnist-keras-course)=='; } > $(LOCK).new && mv $(LOCK).new $(LOCK)
	rm -rf build/lock-venv

clean:
	rm -rf build release .pytest_cache
