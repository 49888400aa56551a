# Two commands for a newcomer: `make demo` and `make test`. Both set up everything they need.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.spacehpo-installed

.PHONY: demo compare-demo test test-fast lint bench services gpu-check

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q torch==2.14.1 torchvision==0.29.1
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

demo: $(STAMP)
	$(VENV)/bin/spacehpo demo

compare-demo: $(STAMP)
	$(VENV)/bin/spacehpo demo --compare

services:
	scripts/test-services.sh

test: $(STAMP) services
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

# The inner loop: everything but the tests marked slow (real worker fleets, server outages).
test-fast: $(STAMP) services
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -m "not slow" -q

bench: $(STAMP)
	$(PY) -m bench.data && $(PY) -m bench.train && $(PY) -m bench.coordination && $(PY) -m bench.search && $(PY) -m bench.curves && $(PY) -m bench.backbones

# On a CUDA host: the CUDA tests (bf16, fused AdamW, compile, resident data, two workers on one
# GPU, one per GPU) and the steady-state training benchmark, as one table.
gpu-check: $(STAMP)
	$(PY) -m bench.gpu_check
