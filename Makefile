# The course's commands. Each target sets up what it needs and is safe to repeat:
# the environment is only (re)installed when pyproject.toml or the lock file changed.
#
#   make run    execute every notebook into build/ (the committed ones stay untouched)
#   make test   lint, unit tests, nbval over notebooks/ (TensorFlow), JupyterLab in headless Chromium
#   make test-jax  the whole series again under Keras' JAX backend, from an installed wheel (CI runs it)
#   make test-numerics  nbval again with other numerics (oneDNN off, one CPU): CI runs it after make test
#   make test-hub  a class on a real JupyterHub: students' kernels at once, nbgrader's exchange (root; CI runs it)
#   make test-newest  install and run the first notebooks on Debian's Python 3.14 and 3.15: JAX (root; CI runs it)
#   make check-install  a student's install on this Python (PYTHON=...), the first notebooks, the backend checked
#   make test-latest / make outdated  the newest releases the ranges allow / the ranges that leave one out
#   make lab    open JupyterLab on notebooks/
#   make data   fetch and verify MNIST only
#   make student  write student versions (no solutions) into release/
#   make grade  autograde submissions in COURSE=grading/course -> feedback/, grades.csv (docs/instructors.md)
#   make lint / make format   check / apply ruff over the code and notebooks (lint: actionlint over the workflows)
#   make test-browser   only the JupyterLab browser tests (make browser installs Chromium)
#   make bench  measure run times, accuracy, a class on a hub (about 90 min) -> benchmarks/results.md, README table
#   make lock   re-resolve requirements-lock.txt: every Python 3.10 to 3.15 on Linux, macOS and Windows
#
# run, lab and data install what the notebooks import; test, lint, format, student and bench add
# pyproject's dev, instructor and hub extras. The lock pins all of them, for every supported Python and platform.
# USE_LOCK=0 installs the newest releases pyproject's ranges allow instead; PYTHON=python3.12 picks another interpreter.

SHELL := /bin/bash
# pyproject's [build-system] requires, and wheel: installed first, and pinned in the lock with the rest
BUILD_REQS := "setuptools>=68" wheel
PYTHON ?= python3
VENV ?= .venv
USE_LOCK ?= 1
LOCK := requirements-lock.txt
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
TEST_EXTRAS := .[dev,instructor,hub]
HUB_PROXY := build/hub-proxy/node_modules/.bin/configurable-http-proxy
NBVAL_FLAGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

# Prefer the environment's own Jupyter kernels over any in the user's home.
export JUPYTER_PREFER_ENV_PATH := 1
export PYTHONNOUSERSITE := 1

.PHONY: help install run bench test test-jax test-numerics test-hub test-browser browser lint format lab data student lock clean
.PHONY: check-install test-newest test-latest outdated debootstrap shellcheck
.DEFAULT_GOAL := help

help:
	@sed -n '3,19p' Makefile | sed 's/^# \{0,1\}//'

# The Pythons the course supports (pyproject's requires-python): Keras runs on TensorFlow on 3.10 to 3.13
# and on JAX on 3.14 and 3.15, where TensorFlow publishes no wheels (README, "Which Python").
$(BIN)/python:
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; ok = (3, 10) <= v < (3, 16); \
	  print("Python %d.%d found; this course needs Python 3.10 to 3.15 (set PYTHON=python3.x)." % v) if not ok else None; \
	  v < (3, 14) or print("Python %d.%d: Keras will run on JAX (TensorFlow publishes no wheels for it)." % v); \
	  v != (3, 15) or print("Python 3.15: h5py, which Keras saves models with, has no wheels for 3.15 yet, so pip" \
	    " builds it: that needs the HDF5 library (Debian/Ubuntu: apt-get install libhdf5-dev pkg-config and" \
	    " export HDF5_DIR=/usr/lib/$$(uname -m)-linux-gnu/hdf5/serial; macOS: brew install hdf5)." \
	    " Python 3.14 needs nothing more."); \
	  sys.exit(not ok)'
	$(PYTHON) -m venv $(VENV)

# pip install with the lock as constraints (it holds a tested version for every supported Python,
# Linux, macOS and Windows), or from pyproject's ranges with USE_LOCK=0.
# $(1): what is installed (for the message), $(2): the requirement (. or .[extras]).
define pip_install
	@if [ "$(USE_LOCK)" = 1 ]; then \
	  echo "Installing $(1), tested versions from $(LOCK) ..."; constraints="-c $(LOCK)"; \
	else \
	  echo "Installing $(1), the newest releases that the ranges in pyproject.toml allow ..."; constraints=""; \
	fi; \
	$(BIN)/python -m pip install --disable-pip-version-check -q $$constraints $(BUILD_REQS) && \
	$(BIN)/python -m pip install --disable-pip-version-check -q $$constraints -e "$(2)"
endef

# What a student needs: the packages the notebooks and helpers import.
$(STAMP): $(BIN)/python pyproject.toml $(LOCK)
	$(call pip_install,the course's packages,.)
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (MNIST course)" >/dev/null
	@touch $@
	@echo "Environment ready in $(VENV)/"

# What the tests, lint and the instructor tools need on top (pyproject's dev and instructor extras).
$(TEST_STAMP): $(STAMP)
	$(call pip_install,the test and instructor tools,$(TEST_EXTRAS))
	@touch $@

install: $(STAMP)

data: $(STAMP)
	$(BIN)/python -m helpers.data fetch

NOTEBOOKS ?= notebooks
run: data
	$(BIN)/python scripts/run_notebooks.py --out build $(NOTEBOOKS)

# Benchmarks: every section, then the README's "what to expect" table and the instructor guide's capacity
# table from the results. The threads and class sections need root (cgroups, a hub with Unix accounts).
# One section again: .venv/bin/python benchmarks/bench.py --only accuracy
bench: data $(TEST_STAMP) $(HUB_PROXY)
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/report.py --readme README.md --guide docs/instructors.md

# Two pytest-xdist workers: the notebooks in order on one (then the browser tests, which open what they
# saved), every other test module beside them on the other (conftest.py groups them). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: data browser sandbox $(TEST_STAMP)
	$(BIN)/python -m pytest $(NBVAL_FLAGS) -m "not jax and not hub and not newest" -n $(TEST_WORKERS) --durations=15 notebooks tests
	$(BIN)/python scripts/verified_versions.py --row "make test"

# The series under JAX (tests/test_installed.py, marker "jax"): the backend a student gets where
# TensorFlow has no wheels, proved on every notebook. Its own target keeps make test the fast path.
test-jax: data $(TEST_STAMP)
	$(BIN)/python -m pytest -m jax tests/test_installed.py
	$(BIN)/python scripts/verified_versions.py --row "make test-jax" --backend jax

# nbval over every notebook on a machine made to differ: oneDNN's kernels off and the kernel pinned
# to one CPU (where taskset exists), so floating-point sums run in another order, and the models
# trained afresh in build/numerics/models. A compared output that then differs comes out of
# training: mark it for nbval and bound it with an assert cell (README, "For contributors").
NUMERICS_MODELS := $(CURDIR)/build/numerics/models
test-numerics: data $(TEST_STAMP)
	rm -rf "$(NUMERICS_MODELS)"
	@pin=$$(command -v taskset >/dev/null && echo "taskset -c 0"); \
	echo "nbval with TF_ENABLE_ONEDNN_OPTS=0$${pin:+, $$pin}, models in build/numerics/models/"; \
	MNIST_MODELS_DIR="$(NUMERICS_MODELS)" TF_ENABLE_ONEDNN_OPTS=0 $$pin \
	  $(BIN)/python -m pytest $(NBVAL_FLAGS) -p no:cacheprovider notebooks

# The course on a real JupyterHub (tests/test_hub.py, scripts/class_hub.py): Unix accounts for an instructor and
# three students, each server started as its user, the real proxy, nbgrader's exchange between them. It makes and
# removes accounts, so it runs as root; as another user it is skipped and says why. The proxy,
# configurable-http-proxy, comes from npm into build/hub-proxy/.
test-hub: data sandbox $(TEST_STAMP) $(HUB_PROXY)
	$(BIN)/python -m pytest -m hub -p no:cacheprovider --durations=5 tests/test_hub.py

$(HUB_PROXY):
	@if command -v npm >/dev/null; then \
	  echo "Installing configurable-http-proxy (npm) into build/hub-proxy/ ..."; \
	  npm install --prefix build/hub-proxy --no-audit --no-fund --loglevel=error configurable-http-proxy@5.3.0; \
	else echo "npm is not installed, so the hub test will be skipped (Debian/Ubuntu: apt-get install npm)."; fi

# A student's install on this Python, as the README's Windows steps do it (no make needed there): a new
# environment in build/check-install/, the lock, the first notebooks with KERAS_BACKEND unset, the backend checked.
check-install:
	$(PYTHON) scripts/check_install.py

# The course on Debian's own Python 3.14 and 3.15, where TensorFlow has no wheels (tests/test_newest_python.py):
# make check-install in a Debian unstable tree, so JAX is chosen and TensorFlow is nowhere. Root; CI runs it.
test-newest: data debootstrap $(TEST_STAMP)
	$(BIN)/python -m pytest -m newest -p no:cacheprovider --durations=5 tests/test_newest_python.py
	@for v in 3.14 3.15; do report=build/newest/root/course/build/check-install/py$$v/report.json; \
	  if [ -f "$$report" ]; then $(BIN)/python scripts/verified_versions.py --row "make test-newest ($$v)" --report "$$report"; fi; done

debootstrap:
	$(call apt_install,debootstrap,debootstrap,the newest-Python test,the newest-Python test will be skipped)

# The newest releases pyproject's ranges allow, ignoring the lock: resolved afresh (uv) into
# build/latest-lock.txt, installed into build/latest-venv, then make test there. A failure shows what an
# upgrade breaks before a student meets it; build/latest-lock.txt says which versions ran. PYTHON picks the Python.
LATEST_VENV := build/latest-venv
test-latest: $(TEST_STAMP) build/lock-build-requirements.txt
	$(BIN)/uv $(UV_COMPILE) --no-header \
	  --python $$($(PYTHON) -c 'import sys; print(sys.executable)') --upgrade -o build/latest-lock.txt
	rm -rf $(LATEST_VENV)
	$(MAKE) --no-print-directory test VENV=$(LATEST_VENV) LOCK=build/latest-lock.txt

# Every range in pyproject.toml whose upper bound leaves out a release that is out now: what to widen
# (then make test-latest, and make lock). scripts/outdated.py; exit 1 if any.
outdated: $(TEST_STAMP)
	$(BIN)/python scripts/outdated.py

test-browser: data browser $(TEST_STAMP)
	$(BIN)/python -m pytest -m browser tests

# actionlint checks the GitHub workflows (and their shell steps with shellcheck, where installed).
lint: $(TEST_STAMP) shellcheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/actionlint

shellcheck:
	$(call apt_install,shellcheck,shellcheck,actionlint's check of the workflows' shell steps,actionlint checks them without it)

format: $(TEST_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Chromium for the browser tests: Debian's package, installed where we are root with apt-get.
# Elsewhere the browser tests skip and say how to install it.
# $(call apt_install,COMMAND,PACKAGE,WHAT IT IS FOR,WHAT HAPPENS WITHOUT IT): install a Debian package
# where this runs as root with apt-get; elsewhere say what is skipped and how to install it.
define apt_install
	@if command -v $(1) >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing $(2) for $(3) (apt-get install $(2)) ..."; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; } \
	    || echo "Could not install $(2): $(4)."; \
	else \
	  echo "$(2) is not installed, so $(4) (Debian/Ubuntu: sudo apt-get install $(2))."; \
	fi
endef

browser:
	$(call apt_install,chromium,chromium,the JupyterLab browser tests,the browser tests will be skipped)

lab: data
	$(BIN)/jupyter lab notebooks/

student: $(TEST_STAMP)
	$(BIN)/python scripts/make_student.py --out release

# Grade with nbgrader in a course folder (grading/grade.py: generate_assignment, then, once
# COURSE/submitted/STUDENT/mnist/ holds notebooks, for each student: checks, autograde with the
# student's code in the bubblewrap sandbox; then generate_feedback, export for the class).
# The default folder is ignored by git and kept by make clean; COURSE=path uses another one;
# GRADE_FLAGS passes grade.py's options (--cell-timeout, --memory-limit, ...: grade.py --help).
.PHONY: grade sandbox
COURSE ?= grading/course
GRADE_FLAGS ?=
grade: data $(TEST_STAMP) sandbox
	$(BIN)/python grading/grade.py --course "$(COURSE)" $(GRADE_FLAGS)

# bubblewrap, the sandbox grading runs students' code in: Debian's package, installed where we are
# root with apt-get. Elsewhere grading runs submissions unconfined and says so (docs/instructors.md).
sandbox:
	$(call apt_install,bwrap,bubblewrap,the grading sandbox,grading will run submissions unconfined)

# Re-resolve the lock from pyproject.toml's ranges: one universal resolution (uv pip compile --universal) for
# Python 3.10 to 3.15 on Linux, macOS and Windows, environment markers where versions differ. The lock's
# current versions are kept where they still fit; LOCK_FLAGS=--upgrade takes the newest everywhere,
# LOCK_FLAGS="--upgrade-package numpy" one package. tests/test_platforms.py checks every target has wheels.
LOCK_FLAGS ?=
UV_COMPILE = pip compile pyproject.toml build/lock-build-requirements.txt --all-extras --quiet
build/lock-build-requirements.txt: pyproject.toml
	@mkdir -p build && printf '%s\n' $(BUILD_REQS) > $@
# uv comes into a scratch environment, so a lock that no longer installs can still be remade.
lock: build/lock-build-requirements.txt
	@test -x build/lock-venv/bin/uv || { $(PYTHON) -m venv build/lock-venv && \
	  build/lock-venv/bin/python -m pip install -q --disable-pip-version-check "$$(grep -o '"uv[^"]*"' pyproject.toml | tr -d '"')"; }
	build/lock-venv/bin/uv $(UV_COMPILE) --universal \
	  --python-version 3.10 --custom-compile-command "make lock" $(LOCK_FLAGS) -o $(LOCK)

clean:
	rm -rf build release .pytest_cache
