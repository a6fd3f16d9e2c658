# The two commands a fresh machine needs: `make demo` and `make test`. Each does its own setup.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench fuzz system-deps clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# graphviz (the `dot` program) for pictures and chromium + chromedriver for the HTML page test.
system-deps:
	@bash scripts/system-deps.sh

demo: $(STAMP)
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

clean:
	rm -rf $(VENV) build *.egg-info
