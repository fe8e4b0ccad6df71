#!/usr/bin/env bash
# Author a standards matrix: scaffold one, validate it, see a located error, show its cell weights.
source "$(dirname "$0")/_env.sh"

"$MRRML" standards new cardio-demo --out "$WORK/cardio-demo.yaml" --force
"$MRRML" standards validate "$WORK/cardio-demo.yaml" standards/healthbench.yaml

# A typo in a scenario weight is reported with file:line and the offending key.
sed 's/weights: {accuracy: 0.7, communication: 0.3}/weights: {accuracy: 0.7, comunication: 0.3}/' \
  "$WORK/cardio-demo.yaml" > "$WORK/broken.yaml"
"$MRRML" standards validate "$WORK/broken.yaml" || echo "(exit $? — as expected)"

# The normalised weights of one (scenario, discipline) cell: these weights make the RL reward.
"$MRRML" standards show standards/healthbench.yaml --scenario emergency_referrals --discipline pediatrics
