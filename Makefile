# Two commands for a newcomer: `make demo` and `make test`. Both set up everything they need.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.spacehpo-installed
# Two test processes, one test file each at a time: a file's module fixtures (a trained study,
# the Slurm daemons) are built once, and no two files share a database, port or folder. Many
# tests wait on real workers and servers, so two processes keep two cores busy.
PARALLEL := -n 2 --dist loadfile

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
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest $(PARALLEL)

# The inner loop: everything but the tests marked slow (real worker fleets, server outages).
test-fast: $(STAMP) services
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest $(PARALLEL) -m "not slow" -q

bench: $(STAMP)
	$(PY) -m spacehpo.bench.data --samples ../shared/spark-sample && $(PY) -m spacehpo.bench.train && $(PY) -m spacehpo.bench.coordination && $(PY) -m spacehpo.bench.search && $(PY) -m spacehpo.bench.curves && $(PY) -m spacehpo.bench.backbones

# On a CUDA host: the CUDA tests (bf16, fused AdamW, compile, resident data, two workers on one
# GPU, one per GPU) and the steady-state training benchmark, as one table.
gpu-check: $(STAMP)
	$(PY) -m spacehpo.bench.gpu_check
