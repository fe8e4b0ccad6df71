#!/usr/bin/env bash
# A real pretrained backbone on CPU: SmolLM2-135M-Instruct + LoRA, fitted for 80 steps on template
# triplets, then tested on the held-out split. About 25 minutes on 2 cores; prints both timings.
source "$(dirname "$0")/_env.sh"
SMOL="$WORK/smol"
[ -f "$SMOL/data/train.jsonl" ] || "$MRRML" synth --matrix standards/healthbench.yaml --n 1000 --seed 1 \
  --val_frac 0.03 --test_frac 0.1 --out "$SMOL/data" --quiet

start=$(date +%s)
"$MRRML" fit -c configs/smollm2-135m-lora.yaml -c examples/smollm2_cpu.yaml
echo "fit: $(( $(date +%s) - start )) s"
start=$(date +%s)
"$MRRML" test -c configs/smollm2-135m-lora.yaml -c examples/smollm2_cpu.yaml \
  --ckpt_path "$SMOL/run/ckpt/last.ckpt"
echo "test: $(( $(date +%s) - start )) s"
