#!/usr/bin/env bash
# A pretrained backbone measured on CPU: SmolLM2-135M-Instruct, frozen, its features cached on disk;
# the projection and reward heads trained for 60 epochs on template triplets of held-out-conditions
# data, then `mrrml evaluate` on held-out conditions, held-out prompts (a second synthesis with another
# seed), spurious-feature variants, best-of-N and physician preference on packaged HealthBench rows.
# Sized for under an hour on 2 idle cores (42 min measured; encoding at ~250 tokens/s per core is
# nearly all of it: ~200 training triplets, ~70 test triplets x 15 answers with their variants, 100
# HealthBench rows = 58 with reference completions, 232 physician pairs). Run by hand; results and numbers: docs/pretrained.md.
#   N_TRAIN=240 HEALTHBENCH_LIMIT=500 bash examples/08_pretrained_cpu.sh   # larger: more encoding time
source "$(dirname "$0")/_env.sh"
OUT="$WORK/pretrained"
N="${N_TRAIN:-240}"                     # planned records per synthesis run (~82% train, 15% test)
LIMIT="${HEALTHBENCH_LIMIT:-100}"       # first N of the 500 packaged rows (500: all 1,152 pairs, ~3x the time)

# Training data held out by condition (its test split = held-out conditions) and, with another seed,
# held-out prompts (its test split; records about conditions training never saw are dropped by --train).
[ -f "$OUT/conditions/train.jsonl" ] || "$MRRML" synth --n "$N" --seed 0 --holdout conditions \
  --val_frac 0.04 --test_frac 0.15 --out "$OUT/conditions" --quiet true
[ -f "$OUT/prompts/test.jsonl" ] || "$MRRML" synth --n "$N" --seed 1 --holdout prompt \
  --val_frac 0.04 --test_frac 0.15 --out "$OUT/prompts" --quiet true

start=$(date +%s)
"$MRRML" fit -c configs/smollm2-135m-frozen.yaml \
  --data.train "[{path: $OUT/conditions/train.jsonl}]" --data.val "[{path: $OUT/conditions/val.jsonl}]" \
  --data.test "[{path: $OUT/conditions/test.jsonl}]" \
  --model.feature_cache_dir "$OUT/features" --trainer.default_root_dir "$OUT/run" \
  --export.final_dir "$OUT/model"
echo "fit: $(( $(date +%s) - start )) s"

start=$(date +%s)
"$MRRML" evaluate --model "$OUT/model" \
  --held_out_prompts "$OUT/prompts/test.jsonl" --held_out_conditions "$OUT/conditions/test.jsonl" \
  --train "$OUT/conditions/train.jsonl" --healthbench package --healthbench_limit "$LIMIT" \
  --device cpu --feature_cache_dir "$OUT/features" --out "$OUT/quality.json"
echo "evaluate: $(( $(date +%s) - start )) s  ->  $OUT/quality.json"
