# rapid-croissant: two commands on a fresh machine, `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
DEMO_OUT ?= demo_output

.PHONY: demo test test-slow lint bench venv clean browser

venv: $(STAMP)

# torch is installed first and explicitly: 2.13.0 is a CPU build on this machine's disk,
# anything else would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[ml,dask,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/rapid-croissant demo --out $(DEMO_OUT)

# The report's browser test uses Debian's chromium + chromedriver, installed here when missing
# (needs root and the Debian mirror; otherwise the test is skipped with a message).
browser:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
	  { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
	    >/dev/null 2>&1 || echo "note: chromium could not be installed: the browser test will be skipped"; }

# `make test` runs everything but the tests marked slow (end-to-end demo, published flavour over HTTP,
# signals), which `make test-slow` runs; run both before closing an issue.
test: $(STAMP) browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -m "not slow"

test-slow: $(STAMP) browser
	$(PY) -m pytest -m slow

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(PY) benchmarks/run_benchmarks.py --json benchmarks/results.json --table BENCHMARKS.md

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .ruff_cache
