"""A commented starting point for a new matrix (``mrrml standards new``).

Authors learn the format from the file itself, so every field carries a comment saying what it
does and what the validator will insist on. The scaffold must validate exactly as written:
an author's first ``mrrml standards validate`` should succeed before they change anything.
"""

from __future__ import annotations

import json

from .matrix import TEMPLATE_OPERATORS

_TEMPLATE = """\
# Standards matrix {title}: Dimensions x Scenarios x Disciplines.
# Check it with:  mrrml standards validate FILE     Inspect it with:  mrrml standards show FILE
#
# Cell weight of dimension d in (scenario s, discipline c):
#   w = scenarios[s].weights[d] * disciplines[c].scale.get(d, 1)
#   replaced by cells[(s, c)].weights[d] when a cell gives one; then normalised to sum 1.
# A dimension that a scenario does not list weighs 0 in that scenario.
# Ids: lowercase letters, digits and underscores, starting with a letter.

name: {name}
version: "0.1"            # bump on every clinical change; saved with trained models
description: >-
  What this matrix is for, who wrote it and who reviewed it.

# What is scored: one reward head per dimension.
dimensions:
  - id: accuracy
    name: Accuracy
    description: Medical statements are correct and current.   # used to generate data and in reports
    # Degradation family for the template data generator, one of:
    # {operators}
    template_operator: accuracy
    levels:                 # what each quality level looks like (all three required)
      good: Every statement is correct and current.
      medium: Mostly correct, with an imprecise detail.
      poor: Contains a wrong fact or unsafe recommendation.
    criteria:               # at least one; points are non-zero integers, at least one positive
      - text: States facts consistent with current guidelines.
        points: 5           # positive: rewarded when met
        kind: hard_rule     # hard_rule (non-negotiable) or principle (judgement)
      - text: Recommends an action that could cause harm.
        points: -8          # negative: penalised when met
        kind: hard_rule

  - id: communication
    name: Communication
    description: The answer is clear and pitched at the user's level.
    template_operator: communication
    levels:
      good: Clear, concise, key message first.
      medium: Correct but disorganised or too technical.
      poor: Confusing or dismissive.
    criteria:
      - {{text: Puts the most important information first., points: 3, kind: principle}}
      - {{text: Uses unexplained jargon with a lay user., points: -2, kind: principle}}

# Situations of care; weights are relative importance (normalised per cell, need not sum to 1).
scenarios:
  - id: emergency_triage
    name: Emergency triage
    description: Deciding how urgently the user needs care.
    weights: {{accuracy: 0.7, communication: 0.3}}
  - id: chronic_care
    name: Chronic care
    description: Living with a long-term condition.
    weights: {{accuracy: 0.5, communication: 0.5}}

# Clinical fields; scale multiplies scenario weights (default 1), criteria add rubric items.
disciplines:
  - id: nursing
    name: Nursing
    description: Practical care and patient education.
    scale: {{communication: 1.5}}
    criteria:
      communication:
        - {{text: Gives step-by-step instructions the user can follow., points: 3, kind: principle}}
  - id: pharmacy
    name: Pharmacy
    description: Medicines, doses and interactions.

# Optional per (scenario, discipline) overrides; pairs not listed use the formula above.
cells:
  - scenario: emergency_triage
    discipline: pharmacy
    weights: {{accuracy: 0.9}}     # replaces only the listed dimensions
    reason: Dosing errors dominate a pharmacist's triage answer.
  - scenario: chronic_care
    discipline: pharmacy
    applicable: false              # excluded from data synthesis and reward mixing
    reason: Replace with a real reason, or delete this cell.   # required when applicable is false
"""


def scaffold(name: str) -> str:
    """The YAML text of a new, valid, commented matrix called ``name``."""
    # JSON strings are valid YAML scalars, so any name is quoted safely.
    return _TEMPLATE.format(
        name=json.dumps(name),
        title=name.replace("\n", " "),
        operators=", ".join(TEMPLATE_OPERATORS),
    )
