# Two commands on a fresh machine with Python >= 3.11: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install demo test lint typecheck bench chaos clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/ami demo

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy ami activities models workflows worker.py chaos

bench: install
	$(PY) bench/run.py

# The full chaos run (docs/reliability.md): about 20 minutes, CPU-heavy. `make test` runs the short one.
chaos: install
	$(PY) -m chaos

clean:
	rm -rf $(VENV) var demo-out .pytest_cache .mypy_cache .ruff_cache
