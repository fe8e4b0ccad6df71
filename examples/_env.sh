# Shared settings for the example scripts (sourced, not run). Everything goes under runs/examples/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MRRML="${MRRML:-.venv/bin/mrrml}"
PYTHON="${PYTHON:-.venv/bin/python}"
WORK="${WORK:-runs/examples}"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export TORCHINDUCTOR_CACHE_DIR="${TORCHINDUCTOR_CACHE_DIR:-$PWD/.cache/inductor}"
mkdir -p "$WORK"
