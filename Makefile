# Two commands matter: `make demo` and `make test`. Both create and reuse .venv from constraints.txt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv test lint unit demo bench drills emulator constraints clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check airflow_tuning dags tests benchmarks demo

unit: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

test: lint unit

demo: $(STAMP)
	$(BIN)/python demo/run_demo.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

drills: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/e2e -m drill

emulator: $(STAMP)
	$(BIN)/airflow-tuning emulator --port 8765

constraints: $(STAMP)
	( echo "# Pinned from a real resolve of '.[dev]' on Python 3.11 (pip freeze). Regenerate with 'make constraints'."; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -vi '^airflow-tuning' ) > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
