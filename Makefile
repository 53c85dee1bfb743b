# Two commands on a fresh clone: `make report` and `make test`. Both build the project
# environment (.venv) from requirements.lock first when it is missing or out of date.
# Every recipe calls tools as `$(PY) -m ...` so that a clone path with spaces works
# (venv console scripts carry the absolute path in their #! line, which breaks on spaces).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# Byte-code caches (__pycache__/, git-ignored) are written even where the environment turns them off: without them
# every test worker, build and kernel recompiles the package and pytest re-rewrites every test module's asserts.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help env test report bench lab lint lock clean

help:
	@echo "make report   render every notebook into reports/ (FORCE=1 rebuilds all)"
	@echo "make test     run the test suite (in parallel, one worker per core)"
	@echo "make env      build or refresh the project environment .venv (report and test do this first)"
	@echo "make lab      start JupyterLab with the project kernel"
	@echo "make bench    time cold build vs naive loop, no-change rebuild, claim checker vs bare imports"
	@echo "make lint     ruff"
	@echo "make lock     re-pin requirements.lock from pyproject.toml (needs the registries)"
	@echo "make clean    remove built reports, results, executed notebooks and the build cache (.venv stays)"
	@echo "make help     this list"

env: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(PY) -m analysis.reporting.kernels install >/dev/null
	-@git rev-parse --git-dir >/dev/null 2>&1 && $(PY) -m nbstripout --install --attributes .gitattributes >/dev/null 2>&1
	@touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

report: $(STAMP)
	$(PY) -m analysis.build $(if $(FORCE),--force,)

bench: $(STAMP)
	$(PY) scripts/bench.py

lab: $(STAMP)
	$(PY) -m jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root,)

lint: $(STAMP)
	$(PY) -m ruff check analysis tests scripts

lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/python -m pip install --quiet -e .
	{ echo "# Exact pins for the project environment (Python 3.11). Direct dependencies are listed with reasons in"; \
	  echo "# pyproject.toml; everything else here is what they pulled in. Regenerate: make lock"; \
	  .lockvenv/bin/python -m pip freeze --exclude-editable | grep -v '^-e'; } > requirements.lock
	rm -rf .lockvenv

clean:
	rm -rf reports/executed reports/results reports/*.html reports/.cache
