"""The offline template backend: case bank + phrasings -> prompt, good answer, degraded answers.

Generation is a pure function of ``(seed, plan index, cell, dimension)``: every random choice comes
from a ``random.Random`` seeded with that tuple, so a resumed run regenerates exactly what an
uninterrupted run would have. The good answer follows an answer plan (empathetic opener, direct
answer, key facts, rationale, context tailoring, required elements, red flags and escalation,
supportive close, requested format, clear structure); medium and poor apply the target dimension's
``template_operator`` to that plan only — medium one element, poor several — and the neutral rewrite
changes surface form at equal quality.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import ConfigError, Problem
from . import answers, casebank, content_files, phrasing
from .answers import Answer, Layout, Segment, answer_diff, render
from .casebank import Condition, Modifier, read_casebank, shipped_casebank
from .content_files import CONTENT_DIR
from .phrasing import REQUEST_FORMATS, read_phrasing, shipped_phrasing

OPERATORS = ("accuracy", "completeness", "communication", "context", "instruction", "safety", "reasoning", "empathy")

OPERATOR_TOUCHES: dict[str, frozenset[str]] = {
    "accuracy": frozenset({"fact"}),
    "completeness": frozenset({"element"}),
    "communication": frozenset({"register", "order", "layout.signposts"}),
    "context": frozenset({"context"}),
    "instruction": frozenset({"layout.format"}),
    "safety": frozenset({"escalation", "reassure"}),
    "reasoning": frozenset({"rationale", "differential"}),
    "empathy": frozenset({"opener", "support"}),
}
"""The only diff labels (see :func:`answer_diff`) each operator may produce: the structural form of
"medium and poor differ from good only along the target dimension"."""

_EMERGENCY_SCENARIOS = {"emergency_referrals", "emergency_triage"}


@dataclass
class Case:
    """Everything drawn for one record: the prompt, the plan choices and the answer versions."""

    prompt: str
    condition: Condition
    modifier: Modifier
    modifier_stated: bool
    requested_format: str | None
    good: Answer
    medium: Answer
    poor: Answer
    neutral: Answer | None
    generic: list[str] = field(default_factory=list)  # which fallbacks were used (unknown discipline/scenario)


def _note(cond: Condition, rng: random.Random) -> str:
    """A terse clinic note for health_data_tasks prompts, written in clinician shorthand on purpose."""
    plan = "; ".join(shipped_phrasing().to_jargon(e).rstrip(".") for e in rng.sample(cond.elements, 2))
    return f"Pt reviewed. Impression: {cond.name}. Plan: {plan}. Safety-netting given."


def _build_prompt(
    cond: Condition,
    mod: Modifier,
    stated: bool,
    scenario: str,
    fmt_req: str | None,
    rng: random.Random,
    generic: list[str],
) -> str:
    words = shipped_phrasing()
    symptom = rng.choice(cond.symptoms)
    who = cond.who
    if mod.patient_is_child and who == "self":  # a stated child's age turns a first-person complaint into a parent's
        who = "child"
    template = rng.choice(words.complaints[who])
    complaint = template.format(symptom=symptom, Symptom=symptom[:1].upper() + symptom[1:])
    parts = [rng.choice(words.greetings).strip()]
    context = shipped_casebank().fill(rng.choice(mod.statements), rng) if stated else ""
    if context:
        context = context[:1].upper() + context[1:] + "."
    if rng.random() < 0.5:
        parts += [context, complaint]
    else:
        parts += [complaint, context]
    framings = words.framings.get(scenario)
    if framings is None:
        generic.append(f"scenario:{scenario}")
        framings = words.generic_framings
    question = rng.choice(framings).format(name=cond.name, differential=cond.differential, note=_note(cond, rng))
    parts.append(question)
    if fmt_req is not None:
        parts.append(rng.choice(words.format_requests[fmt_req]))
    return " ".join(p for p in parts if p)


def _direct(cond: Condition, scenario: str, rng: random.Random) -> str:
    words = shipped_phrasing()
    if scenario in _EMERGENCY_SCENARIOS:
        return f"{rng.choice(words.triage_leads[cond.triage])} {cond.direct}"
    if scenario == "hedging":
        return f"{rng.choice(words.hedge_leads).format(name=cond.name)} {cond.direct}"
    if scenario == "health_data_tasks":
        return f"In short, the note says this is {cond.name}. {cond.direct}"
    return cond.direct


def _good_answer(cond: Condition, mod: Modifier, stated: bool, scenario: str, fmt: str, rng: random.Random) -> Answer:
    """The answer plan realised in full, in a clear order with group headings."""
    words = shipped_phrasing()
    facts = list(enumerate(cond.facts))
    rng.shuffle(facts)
    segs = [
        Segment("opener", "opener", rng.choice(words.empathetic_openers).format(name=cond.name)),
        Segment("direct", "direct", _direct(cond, scenario, rng)),
    ]
    segs += [Segment("fact", f"fact:{i}", fact.correct) for i, fact in facts]
    segs.append(Segment("rationale", "rationale", rng.choice(words.rationale_leads) + cond.rationale.sound))
    segs.append(
        Segment(
            "differential",
            "differential",
            rng.choice(words.differential_leads).format(differential=cond.differential),
        )
    )
    if stated:
        segs.append(Segment("context", "context", mod.tailored))
    else:  # context seeking: ask for the missing detail and explain why it matters
        segs.append(Segment("context", "context", f"Before I can be specific, could you tell me {mod.ask}?"))
    segs += [Segment("element", f"element:{i}", e) for i, e in enumerate(cond.elements)]
    flags = ", ".join(cond.red_flags[:-1]) + " or " + cond.red_flags[-1]
    segs.append(Segment("escalation", "red_flags", rng.choice(words.red_flag_leads).format(flags=flags)))
    segs.append(Segment("escalation", "escalate", cond.escalation))
    segs.append(Segment("support", "support", rng.choice(words.support_closings)))
    return Answer(tuple(segs), Layout(format=fmt, signposts=True, headings=rng.choice(words.headings)))


def degrade(good: Answer, cond: Condition, mod: Modifier, operator: str, level: str, rng: random.Random) -> Answer:
    """Apply ``operator`` to ``good``: ``medium`` changes one element, ``poor`` several (see OPERATOR_TOUCHES)."""
    words = shipped_phrasing()
    segs = list(good.segments)
    poor = level == "poor"
    if operator == "accuracy":
        fact_pos = [i for i, s in enumerate(segs) if s.kind == "fact"]
        chosen = fact_pos if poor else [rng.choice(fact_pos)]
        for i in chosen:
            idx = int(segs[i].key.split(":")[1])
            segs[i] = Segment("fact", segs[i].key, cond.facts[idx].wrong, "wrong")
        return good.with_segments(segs)
    if operator == "completeness":
        elements = [s for s in segs if s.kind == "element"]
        drop = {s.key for s in elements} if poor else {rng.choice(elements).key}
        return good.with_segments([s for s in segs if s.key not in drop])
    if operator == "communication":
        body = [i for i, s in enumerate(segs) if s.kind not in ("opener", "support")]
        chosen = body if poor else rng.sample(body, max(1, len(body) // 2))
        for i in chosen:
            segs[i] = Segment(segs[i].kind, segs[i].key, words.to_jargon(segs[i].text), "jargon")
        if not poor:
            return good.with_segments(segs)
        # Disorder: warnings first, direct answer buried at the end, no headings.
        middle = segs[1:-1]
        middle = (
            [s for s in middle if s.kind == "escalation"]
            + [s for s in middle if s.kind not in ("escalation", "direct")]
            + [s for s in middle if s.kind == "direct"]
        )
        return good.with_segments([segs[0], *middle, segs[-1]]).with_layout(signposts=False)
    if operator == "context":
        if poor:
            return good.with_segments(
                [
                    Segment("context", "context", mod.contradict, "contradict") if s.kind == "context" else s
                    for s in segs
                ]
            )
        return good.with_segments([s for s in segs if s.kind != "context"])
    if operator == "instruction":
        if poor:
            others = [f for f in REQUEST_FORMATS if f != good.layout.format]
            return good.with_layout(format=rng.choice(others))
        style = good.layout.format if good.layout.format in ("bullets", "numbered") else "bullets"
        return good.with_layout(format=f"mixed-{style}")
    if operator == "safety":
        if poor:
            kept = [s for s in segs if s.kind != "escalation"]
            kept.insert(len(kept) - 1, Segment("reassure", "reassure", rng.choice(words.false_reassurance), "false"))
            return good.with_segments(kept)
        return good.with_segments([s for s in segs if s.key != "escalate"])
    if operator == "reasoning":
        if poor:
            out = [
                Segment("rationale", "rationale", cond.rationale.flawed, "wrong") if s.kind == "rationale" else s
                for s in segs
                if s.kind != "differential"
            ]
            return good.with_segments(out)
        return good.with_segments([s for s in segs if s.kind != "rationale"])
    if operator == "empathy":
        if poor:
            out = []
            for s in segs:
                if s.kind == "opener":
                    s = Segment("opener", "opener", rng.choice(words.dismissive_openers), "dismissive")
                elif s.kind == "support":
                    s = Segment("support", "support", rng.choice(words.dismissive_closings), "dismissive")
                out.append(s)
            return good.with_segments(out)
        return good.with_segments([s for s in segs if s.kind != "opener"])
    raise ConfigError(f"unknown template_operator {operator!r}; expected one of {', '.join(OPERATORS)}")


def neutral_rewrite(good: Answer, requested_format: str | None, rng: random.Random) -> Answer:
    """Same content and quality, different surface: facts reordered (they are order-independent), a
    neutral closing line, and — only when no format was requested — bullets and numbers swapped."""
    segs = list(good.segments)
    fact_pos = [i for i, s in enumerate(segs) if s.kind == "fact"]
    facts = [segs[i] for i in fact_pos][::-1]
    for i, s in zip(fact_pos, facts):
        segs[i] = s
    segs.append(Segment("closing", "closing", rng.choice(shipped_phrasing().neutral_closings)))
    out = good.with_segments(segs)
    if requested_format is None and good.layout.format in ("bullets", "numbered"):
        out = out.with_layout(format="numbered" if good.layout.format == "bullets" else "bullets")
    return out


def make_case(
    seed: int, index: int, scenario: str, discipline: str, operator: str, neutral: bool, format_rate: float = 0.6
) -> Case:
    """Draw one case: prompt, good, medium, poor and optional neutral answers for the target operator."""
    rng = random.Random(f"mrrml-template:{seed}:{index}")
    bank = shipped_casebank()
    generic: list[str] = []
    conditions, fallback = bank.conditions_for(discipline)
    if fallback:
        generic.append(f"discipline:{discipline}")
    cond = rng.choice(conditions)
    # A scenario whose point is a particular context uses it whenever the condition allows it.
    preferred = [m for m in cond.modifiers if scenario in bank.modifiers[m].preferred_in_scenarios]
    mod = bank.modifiers[rng.choice(preferred or list(cond.modifiers))]
    stated = scenario != "context_seeking"
    # Instruction following needs a request to follow; other records carry one only sometimes.
    fmt_req = rng.choice(REQUEST_FORMATS) if operator == "instruction" or rng.random() < format_rate else None
    fmt = fmt_req or rng.choice(REQUEST_FORMATS)
    prompt = _build_prompt(cond, mod, stated, scenario, fmt_req, rng, generic)
    good = _good_answer(cond, mod, stated, scenario, fmt, rng)
    medium = degrade(good, cond, mod, operator, "medium", rng)
    poor = degrade(good, cond, mod, operator, "poor", rng)
    neu = neutral_rewrite(good, fmt_req, rng) if neutral else None
    return Case(prompt, cond, mod, stated, fmt_req, good, medium, poor, neu, generic)


def validate_content(root: Path = CONTENT_DIR) -> list[Problem]:
    """Every problem of the content files under ``root`` (case bank and phrasing; the shipped ones by
    default), each located as ``file:line: key.path: message``; an empty list when they are valid.

    The generator reads the same files through the same checks, so a file that passes here loads.
    """
    return read_casebank(root)[1] + read_phrasing(root)[1]


def generator_fingerprint(root: Path = CONTENT_DIR) -> str:
    """A hash of the generator's code and content files: a work log written by another version of
    either must not be resumed (it would mix records of two generator versions in one data set)."""
    digest = hashlib.sha256()
    for module in (casebank, phrasing, content_files, answers):
        digest.update(Path(module.__file__).read_bytes())  # type: ignore[arg-type]
    digest.update(Path(__file__).read_bytes())
    for path in sorted(root.rglob("*.yaml")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


__all__ = [
    "OPERATORS",
    "OPERATOR_TOUCHES",
    "Case",
    "answer_diff",
    "degrade",
    "generator_fingerprint",
    "make_case",
    "neutral_rewrite",
    "render",
    "validate_content",
]
