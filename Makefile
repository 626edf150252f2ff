# Two commands set up a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 3000
LAB_PORT ?= 8888
SEED   ?= 0
TRACES ?= 5000
DAYS   ?= 30
# The demo data end at the notebooks' fixed anchor (lfnb.local.demo.NOTEBOOK_ANCHOR), so the demo
# shows the numbers the notebooks' prose states; `make serve ANCHOR=...` serves another range.
ANCHOR ?= 2026-11-01T00:00:00Z
SHARED ?= $(abspath ../shared)

export LANGFUSE_PUBLIC_KEY ?= pk-lf-local
export LANGFUSE_SECRET_KEY ?= sk-lf-local

.PHONY: venv demo test lint serve report bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

# Starts lfnb.local with the demo data, then JupyterLab on copies of the notebooks in demo/
# (git-ignored: run, edit and save them; notebooks/ stays what `make test` compares).
# Headless: make demo LAB_ARGS=--no-browser ; other ports: make demo PORT=3100 LAB_PORT=8899
demo: venv
	$(PY) -m lfnb.cli demo --port $(PORT) --lab-port $(LAB_PORT) -- $(LAB_ARGS)

serve: venv
	$(PY) -m lfnb.local serve --port $(PORT) --seed $(SEED) --traces $(TRACES) --days $(DAYS) --anchor $(ANCHOR)

# The whole suite: lint (ruff), unit, integration (lfnb.local over HTTP), notebooks (nbval).
test: venv lint
	LFNB_SHARED_DIR=$(SHARED) $(PY) -m pytest tests notebooks --nbval --nbval-current-env \
	  --nbval-sanitize-with tests/nbval-sanitize.cfg -p no:cacheprovider $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

report: venv
	$(PY) -m lfnb.cli report notebooks --out build

bench: venv
	$(PY) bench/extract.py

clean:
	rm -rf $(VENV) build .pytest_cache
