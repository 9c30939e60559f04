# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
# Both create the Python 3.10 virtualenv from requirements.lock on first use.
PYTHON ?= python3.10
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-from-lock

export TF_USE_LEGACY_KERAS := 1
export PYTHONPATH := $(CURDIR)

.PHONY: venv run best-ml1m test unit continuous demo demo-runtime browser kubeflow-compile kubeflow-local lint proto lock clean graphviz

venv: $(STAMP)

$(STAMP): requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: TFX 1.16 needs Python 3.10 (see README)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check pip==24.2
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r requirements.lock
	touch $@

run: venv
	$(PY) -m pipeline.local_runner $(RUN_ARGS)

# The default run on ML-1M (its recipe, chosen by the data's size, is the best one measured:
# docs/benchmarks.md), then its pushed model asked through commands.recommend with each
# user's whole history (quality beside Markov and popularity, latency, sizes), e.g.
# make best-ml1m BEST_OUT=outputs/best-ml1m
ML1M ?= ../shared/data/movielens/ml-1m
BEST_OUT ?= outputs/best-ml1m
best-ml1m: venv
	$(PY) -m pipeline.local_runner --data-dir $(ML1M) --output-dir $(BEST_OUT) $(RUN_ARGS)
	$(PY) -m benchmarks.bench_shipped --model $(BEST_OUT) --data-dir $(ML1M)

# Two workers (pytest-xdist), each file's tests on one worker so that its fixtures run once;
# e.g. PYTEST_ARGS="-n 0 components/model/recommender_test.py" for one file in this process.
PYTEST_ARGS ?= -n 2 --dist loadfile
# The browser tests (tests/test_demo.py) need the LiteRT.js files and the system Chromium:
# installed here when missing. A failed install does not stop the suite: those tests then
# fail with one line saying what is missing.
test: venv
	@$(MAKE) --no-print-directory -k demo-runtime browser || \
		echo "warning: the demo's set-up failed (above): tests/test_demo.py will fail"
	$(PY) -m pytest $(PYTEST_ARGS)

# The fast tests beside their modules (<module>_test.py in every folder but tests/; the
# folders are pyproject.toml's testpaths), without those marked slow (model training):
# no pipeline run, under 2 minutes on 2 cores. e.g. make unit UNIT_ARGS="-n 0 -k hparams"
UNIT_ARGS ?= -n 2 --dist loadfile
unit: venv
	$(PY) -m pytest $(UNIT_ARGS) --ignore=tests -m "not slow"

# The in-browser demo of the pushed model, e.g. make demo DEMO_ARGS="--model outputs --port 8765"
demo: venv demo-runtime
	$(PY) -m commands.demo $(DEMO_ARGS)

# LiteRT.js (WASM runtime of the demo page) from demo/package-lock.json, exact versions.
DEMO_RUNTIME := demo/node_modules/.installed-from-lock
demo-runtime: $(DEMO_RUNTIME)

$(DEMO_RUNTIME): demo/package.json demo/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: the demo needs Node.js and npm (Debian: apt-get install nodejs npm)"; exit 1; }
	cd demo && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The system Chromium the browser tests drive (Debian package; tests never download one).
CHROMIUM ?= /usr/bin/chromium
browser:
	@[ -x $(CHROMIUM) ] || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium; }
	@[ -x $(CHROMIUM) ] || { echo "$(CHROMIUM) is missing after the install"; exit 1; }

# Continuous training on span data (span-0001/, span-0002/, ...; see `commands.data
# split-spans`): one run per span not yet evaluated, oldest first, each warm-starting from
# the previous run's blessed model, e.g.
# make continuous SPANS=outputs/ml-1m-spans RUN_ARGS="--output-dir outputs/continuous"
continuous: venv
	@test -n "$(SPANS)" || { echo "give SPANS=DIR, a folder of span-0001/, span-0002/, ..."; exit 2; }
	@for span in $$(ls -d $(SPANS)/span-[0-9][0-9][0-9][0-9] | tail -n +2); do \
		$(PY) -m pipeline.local_runner --data-dir $(SPANS) --span next $(RUN_ARGS) || exit $$?; \
	done

# Compiles the Vertex AI / KFP v2 PipelineJob (see kubeflow/README.md), e.g.
# make kubeflow-compile KUBEFLOW_ARGS="--pipeline-root gs://BUCKET/recs --image IMAGE"
kubeflow-compile: venv
	$(PY) -m kubeflow.runner $(KUBEFLOW_ARGS)

# Compiles the job with defaults (plus KUBEFLOW_ARGS, runner flags) and runs it here, task by
# task, with the containers' entry points (kubeflow/local_run/; LOCAL_RUN_ARGS are its
# flags), into outputs/kubeflow-local. E.g. a quick check with a tiny training budget:
# make kubeflow-local KUBEFLOW_ARGS="--hparam epochs=1 --hparam train_steps=20" LOCAL_RUN_ARGS=--no-cache
KUBEFLOW_LOCAL := outputs/kubeflow-local
kubeflow-local: venv
	$(PY) -m kubeflow.runner --local --pipeline-root $(CURDIR)/$(KUBEFLOW_LOCAL) --image movie-recs:local \
		--output $(KUBEFLOW_LOCAL)/movie-recs.json $(KUBEFLOW_ARGS)
	$(PY) -m kubeflow.local_run --package $(KUBEFLOW_LOCAL)/movie-recs.json \
		--pipeline-root $(KUBEFLOW_LOCAL) $(LOCAL_RUN_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Optional: Graphviz's `dot`, which renders `python -m commands.lineage ... --format svg|png`
# (not part of `make test`: the lineage tests render an image only when `dot` is present).
graphviz:
	@command -v dot >/dev/null || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends graphviz; }
	dot -V

# Regenerates the input-config Python module from configs/input_config.proto.
proto: venv
	$(PY) -m grpc_tools.protoc --proto_path=. --python_out=. configs/input_config.proto

# Re-resolves the pinned, hashed dependency sets from pyproject.toml with uv (pinned here):
# requirements.lock (runtime + dev tools, what `make venv` installs) and
# requirements-runtime.lock (the container image's, the same versions without the dev tools).
# Versions already in the lock are kept unless pyproject.toml needs others; delete the lock
# to move everything to the newest releases.
UV_VERSION := 0.13.9
LOCK_FLAGS := --python-version 3.10 --python-platform x86_64-manylinux_2_28 --generate-hashes \
	--quiet --custom-compile-command "make lock"
lock:
	@tools=$$(mktemp -d) && trap 'rm -rf '"$$tools" EXIT && \
	$(PYTHON) -m venv $$tools && \
	$$tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION) && \
	$$tools/bin/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o requirements.lock && \
	$$tools/bin/uv pip compile pyproject.toml $(LOCK_FLAGS) --constraint requirements.lock \
		-o requirements-runtime.lock

clean:
	rm -rf $(VENV) outputs
