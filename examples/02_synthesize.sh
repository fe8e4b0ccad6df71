#!/usr/bin/env bash
# Synthesize good/medium/poor triplets for every dimension of the HealthBench matrix (offline
# template backend, deterministic with --seed), with a consistency filter. Re-running resumes.
source "$(dirname "$0")/_env.sh"

"$MRRML" synth --matrix standards/healthbench.yaml --n 120 --seed 0 --out "$WORK/synth" --quiet
wc -l "$WORK"/synth/{train,val,test}.jsonl
# The poor answer differs from the good one only where dimension d is degraded (causal augmentation).
"$PYTHON" - "$WORK/synth/train.jsonl" <<'PY'
import difflib, json, sys
record = json.loads(open(sys.argv[1]).readline())
print("dimension:", record["dimension"], "| scenario:", record["scenario"], "| discipline:", record["discipline"])
good, poor = record["good"], record["poor"]
for op, a1, a2, b1, b2 in difflib.SequenceMatcher(None, good, poor, autojunk=False).get_opcodes():
    if op != "equal":
        print("good has:", repr(good[a1:a2][:150]))
        print("poor has:", repr(poor[b1:b2][:150]))
        break
PY
