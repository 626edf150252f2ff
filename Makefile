# Two commands set up a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 3000
LAB_PORT ?= 8888
SEED   ?= 0
TRACES ?= 5000
DAYS   ?= 30
# The demo data end at today's UTC midnight; the notebooks read the same "now" from LFNB_ANCHOR.
ANCHOR ?= $(shell date -u +%Y-%m-%dT00:00:00Z)
# JupyterLab refuses to run as root (containers, CI machines) unless told.
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root)
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

# Starts lfnb.local with the demo data, then JupyterLab on notebooks/ pointed at it.
# Headless: make demo LAB_ARGS=--no-browser ; other ports: make demo PORT=3100 LAB_PORT=8899
demo: venv
	$(PY) -m lfnb.local serve --port $(PORT) --seed $(SEED) --traces $(TRACES) --days $(DAYS) \
	    --anchor $(ANCHOR) --public-key $(LANGFUSE_PUBLIC_KEY) --secret-key $(LANGFUSE_SECRET_KEY) & \
	  server=$$!; trap "kill $$server" EXIT INT TERM; \
	  $(PY) -m lfnb.local wait --base-url http://127.0.0.1:$(PORT) && \
	  LANGFUSE_BASE_URL=http://127.0.0.1:$(PORT) LFNB_ANCHOR=$(ANCHOR) $(VENV)/bin/jupyter lab --notebook-dir=notebooks \
	    --port $(LAB_PORT) $(ROOT_ARGS) $(LAB_ARGS)

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
