#!/usr/bin/env bash
# Train a tiny reward model (random-init Qwen3, real tokenizer) on CPU with GPRC for one epoch.
# Needs 02_synthesize.sh. The model directory lands in runs/examples/model.
source "$(dirname "$0")/_env.sh"
[ -f "$WORK/synth/train.jsonl" ] || bash examples/02_synthesize.sh

"$MRRML" fit -c configs/tiny-cpu.yaml \
  --data.train "[{path: $WORK/synth/train.jsonl, weight: 1.0}]" \
  --data.val "[{path: $WORK/synth/val.jsonl, weight: 1.0}]" \
  --model.max_answer_tokens 128 \
  --trainer.max_epochs 1 \
  --trainer.default_root_dir "$WORK/train" \
  --export.final_dir "$WORK/model"
ls "$WORK/model"
