# The two commands a fresh machine needs: `make demo` and `make test`. Each does its own setup.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo

.PHONY: demo test lint bench fuzz system-deps clean docs-pictures

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# `make demo` needs only the `train` extra; `make test` adds the test tools (the dev extra).
$(DEMO_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[train]'
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP) $(DEMO_STAMP)

# graphviz (the `dot` program) for pictures, chromium + chromedriver for the HTML page test,
# Open MPI (mpirun) for the data-parallel tests.
system-deps:
	@bash scripts/system-deps.sh

demo: $(DEMO_STAMP)
	$(VENV)/bin/chainrule train

test: $(STAMP) system-deps
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/pytest -n 2

# The long profile of the property-based engine tests (make test runs a small one).
fuzz: $(STAMP)
	CHAINRULE_FUZZ_EXAMPLES=2000 $(VENV)/bin/pytest -q tests/test_fuzz.py

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) benchmarks/run.py

# The pictures docs/explain.md shows, drawn by chainrule (a test checks they are current).
docs-pictures: $(STAMP) system-deps
	$(PY) scripts/docs_pictures.py

clean:
	rm -rf $(VENV) build *.egg-info
