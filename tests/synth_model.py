"""A stand-in generator-and-judge model for the LLM synthesis pipeline, served by :mod:`tests.standin_chat`.

It plays an instruction-following chat model (e.g. Qwen3 under vLLM) that does each step it is asked:
it recognises the step by the system message the pipeline sends, reads what it needs from the user
message, and answers with JSON that follows the step's schema. Replies are a function of the request's
messages and seed (a hash tags each case), so a killed-and-resumed run receives exactly the answers an
uninterrupted one does.

Answers carry their level in plain sight (``GOOD``, ``MEDIUM``, ``POOR``, ``NEUTRAL``) and the target
dimension's name in brackets, and the judge grades by those marks: good and neutral answers score 9
on every dimension, medium 5 and poor 2 on the target only. Switches make it misbehave the way real
models do:

* ``sloppy``: without guided decoding (no ``response_format``), the first reply to a request is prose
  around the JSON — what an unguided model often writes — and a retry gets clean JSON;
* ``bad_rubrics``: the first N rubrics written for a question are ones the judge cannot use to order
  the answers (every answer meets every item), so the pipeline must resample;
* ``leaky_every``: for one question in N the poor answer also scores low on another dimension (the
  rewrite changed more than the target), so the judge must drop the triplet;
* ``neutral_drift_every``: for one question in N the neutral rewrite scores lower than good on some
  dimension, so it must be removed.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter

from mrrml.data.synth.judge import SYSTEM_JUDGE
from mrrml.data.synth.prompts import SYSTEM_COUNTERFACTUAL, SYSTEM_DRAFT, SYSTEM_NEUTRAL, SYSTEM_REPAIR
from mrrml.data.synth.rubric import SYSTEM_RUBRIC

LEVELS = ("GOOD", "MEDIUM", "POOR", "NEUTRAL")


def _tag(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


class SynthModel:
    """``model(count, body, headers) -> reply text``: a behaviour for :class:`tests.standin_chat.ChatStandIn`."""

    def __init__(
        self, *, sloppy: bool = False, bad_rubrics: int = 0, leaky_every: int = 0, neutral_drift_every: int = 0
    ):
        self.sloppy, self.bad_rubrics = sloppy, bad_rubrics
        self.leaky_every, self.neutral_drift_every = leaky_every, neutral_drift_every
        self.steps: Counter = Counter()  # requests per step
        self._seen: Counter = Counter()
        self._lock = threading.Lock()

    def __call__(self, count: int, body: dict, headers: dict) -> str:
        system, user = body["messages"][0]["content"], body["messages"][-1]["content"]
        step = {
            SYSTEM_DRAFT: "draft",
            SYSTEM_REPAIR: "repair",
            SYSTEM_COUNTERFACTUAL: "counterfactual",
            SYSTEM_NEUTRAL: "neutral",
            SYSTEM_RUBRIC: "rubric",
            SYSTEM_JUDGE: "judge",
        }[system]
        key = json.dumps(body["messages"], sort_keys=True)
        with self._lock:
            self.steps[step] += 1
            self._seen[key] += 1
            first_time = self._seen[key] == 1
        # A sampled model writes a different case for every seed; the other steps follow their input.
        reply = json.dumps(self.draft(user, body.get("seed")) if step == "draft" else getattr(self, step)(user))
        if self.sloppy and first_time and "response_format" not in body:
            return f"Sure! Here is the JSON you asked for:\n{reply}\nLet me know if you need anything else."
        return reply

    def draft(self, user: str, seed: int | None) -> dict:
        target = _between(user, "Target dimension: ", " - ")
        tag = _tag(f"{user}{seed}")
        return {
            "prompt": f"Case {tag}: I have had a dry cough for a week ({target}). What should I do?",
            "good": f"GOOD answer {tag}: rest, drink fluids, and see a clinician if it lasts beyond three weeks.",
        }

    def repair(self, user: str) -> dict:
        answer = _between(user, "Answer:\n", "\n\n")
        return {"good": answer + " (repaired)"}

    def counterfactual(self, user: str) -> dict:
        good = _between(user, "Original answer (good on every dimension):\n", "\n\nTarget dimension: ")
        target = _between(user, "Target dimension: ", " - ")
        return {level.lower(): good.replace("GOOD", level, 1) + f" [{target}]" for level in ("MEDIUM", "POOR")}

    def neutral(self, user: str) -> dict:
        good = _between(user, "Answer:\n", "\n\n")
        return {"neutral": good.replace("GOOD", "NEUTRAL", 1) + " Take care."}

    def rubric(self, user: str) -> dict:
        question = _between(user, "Question:\n", "\n\n")
        dims = re.findall(r"^- (\w+): ", user.split("Dimensions (every rubric item belongs to one):", 1)[1], re.M)
        with self._lock:
            self._seen["rubric:" + question] += 1
            attempt = self._seen["rubric:" + question]
        unusable = attempt <= self.bad_rubrics
        mark = "ALWAYS MET " if unusable else ""
        return {
            "items": [
                {
                    "criterion": f"{mark}Advises seeing a clinician if the cough persists",
                    "points": 5,
                    "kind": "principle",
                    "dimension": dims[0],
                },
                {
                    "criterion": f"{mark}Answers the question the user asked",
                    "points": 3,
                    "kind": "hard_rule",
                    "dimension": dims[-1],
                },
                {
                    "criterion": "Recommends antibiotics for a viral cough",
                    "points": -4,
                    "kind": "principle",
                    "dimension": dims[0],
                },
            ]
        }

    def judge(self, user: str) -> dict:
        answer = _between(user, "Answer to grade:\n", "\n\nDimensions, with their")
        question = _between(user, "Question:\n", "\n\nAnswer to grade:")
        names = dict(re.findall(r"^## (\w+): (.+?) - ", user, re.M))  # id -> name
        level = next(lv for lv in LEVELS if lv in answer)
        target_name = answer.rsplit("[", 1)[1].rstrip("]") if level in ("MEDIUM", "POOR") else None
        scores = dict.fromkeys(names, 9)
        for dim, name in names.items():
            if name == target_name:
                scores[dim] = 5 if level == "MEDIUM" else 2
        case = int(_tag(question), 16)
        others = [d for d in names if names[d] != target_name]
        if level == "POOR" and self.leaky_every and case % self.leaky_every == 0:
            scores[others[0]] = 3
        if level == "NEUTRAL" and self.neutral_drift_every and case % self.neutral_drift_every == 0:
            scores[others[-1]] = 6
        criteria = re.findall(r"^- (C\d+) ", user, re.M)
        rubric = re.findall(r"^- (R\d+) \[([+-]\d+)[^\]]*\] (.*)$", user, re.M)
        positives = [r for r, points, _ in rubric if int(points) > 0]
        met = {}
        for rid, points, text in rubric:
            if "ALWAYS MET" in text:
                met[rid] = True
            elif int(points) < 0:
                met[rid] = level == "POOR"
            else:
                met[rid] = level in ("GOOD", "NEUTRAL") or (level == "MEDIUM" and rid == positives[0])
        return {
            "reasoning": f"Graded the {level.lower()} answer criterion by criterion.",
            "criteria": dict.fromkeys(criteria, level in ("GOOD", "NEUTRAL")),
            "rubric": met,
            "scores": scores,
        }
