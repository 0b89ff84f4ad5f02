# Two commands matter: `make demo` and `make test`. Both create and reuse .venv from constraints.txt.
# Before a test run finishes, `make test` also builds the docs (tests/docs) and starts PostgreSQL for drills.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv test lint typecheck unit docs demo demo-preference airflow bench drills emulator constraints dist clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check airflow_tuning dags tests benchmarks demo

# Types: py.typed ships, so users' type checkers read these annotations (config: [tool.mypy] in pyproject.toml).
typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

test: lint typecheck unit

demo: $(STAMP)
	$(BIN)/python demo/run_demo.py

demo-preference: $(STAMP)
	$(BIN)/python demo/run_preference_demo.py

# The real Airflow stack on 127.0.0.1 with the emulator: `make airflow DAGS=path/to/my/dags PORT=8080`.
airflow: $(STAMP)
	$(BIN)/python demo/local_airflow.py $(if $(DAGS),--dags "$(DAGS)") $(if $(PORT),--port $(PORT))

# Reference documentation from the docstrings; warnings are errors (also checked by `make test`).
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --quiet --site-dir artifacts/docs

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

# Every drill, on the single-machine and on the distributed (Celery, two triggerers) topology; one table.
drills: $(STAMP)
	$(BIN)/python tests/e2e/drills_report.py --topology both

emulator: $(STAMP)
	$(BIN)/airflow-tuning emulator --port 8765

# constraints.txt comes from ONE uv resolve of '.[dev]' together with apache-airflow-providers-google on
# Python 3.11 / Linux x86_64, so a deployment that already runs the Google provider installs us with the
# same pins. Existing pins are kept unless the resolve needs to move them; `make constraints UPGRADE=1`
# resolves every package afresh.
RESOLVE_WITH  := apache-airflow-providers-google
RESOLVE_FLAGS := --python-version 3.11 --python-platform x86_64-manylinux_2_28 --no-header --no-annotate --quiet
$(BIN)/uv:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt uv

constraints: $(BIN)/uv
	cp constraints.txt $(VENV)/constraints.resolved.txt
	echo $(RESOLVE_WITH) | $(BIN)/uv pip compile $(RESOLVE_FLAGS) $(if $(UPGRADE),--upgrade) \
	  pyproject.toml --extra dev - -o $(VENV)/constraints.resolved.txt
	( echo "# One resolve of '.[dev]' + $(RESOLVE_WITH) on Python 3.11, Linux x86_64. Regenerate with 'make constraints':"; \
	  echo "# echo $(RESOLVE_WITH) | uv pip compile $(RESOLVE_FLAGS) pyproject.toml --extra dev - -o constraints.txt"; \
	  cat $(VENV)/constraints.resolved.txt ) > constraints.txt

# The sdist and the wheel, built in an isolated environment by the `build` package, then checked by twine.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --installer uv --outdir dist .
	$(BIN)/twine check --strict dist/*

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache dist build
