# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
# Both create the Python 3.10 virtualenv from requirements.lock on first use.
PYTHON ?= python3.10
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-from-lock

export TF_USE_LEGACY_KERAS := 1
export PYTHONPATH := $(CURDIR)

.PHONY: venv run test kubeflow-compile lint proto lock clean graphviz

venv: $(STAMP)

$(STAMP): requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: TFX 1.16 needs Python 3.10 (see README)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check pip==24.2
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	touch $@

run: venv
	$(PY) -m pipeline.local_runner $(RUN_ARGS)

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

# Compiles the Vertex AI / KFP v2 PipelineJob (see kubeflow/README.md), e.g.
# make kubeflow-compile KUBEFLOW_ARGS="--pipeline-root gs://BUCKET/recs --image IMAGE"
kubeflow-compile: venv
	$(PY) -m kubeflow.runner $(KUBEFLOW_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Optional: Graphviz's `dot`, which renders `python -m pipeline.lineage ... --format svg|png`
# (not part of `make test`: the lineage tests render an image only when `dot` is present).
graphviz:
	@command -v dot >/dev/null || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends graphviz; }
	dot -V

# Regenerates the input-config Python module from configs/input_config.proto.
proto: venv
	$(PY) -m grpc_tools.protoc --proto_path=. --python_out=. configs/input_config.proto

# Re-resolves the pinned dependency set from pyproject.toml into requirements.lock.
lock:
	rm -rf /tmp/lock-venv && $(PYTHON) -m venv /tmp/lock-venv
	/tmp/lock-venv/bin/pip install --quiet pip==24.2
	/tmp/lock-venv/bin/pip install --quiet '.[dev]'
	/tmp/lock-venv/bin/pip freeze --exclude ondevice-movie-recs > requirements.lock

clean:
	rm -rf $(VENV) outputs
