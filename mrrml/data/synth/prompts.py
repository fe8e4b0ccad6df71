"""What the LLM backends ask the generator, step by step, written from the matrix's own text.

A triplet is built by counterfactual editing (Crome's causal augmentation), not written in one go:

1. ``draft``: the prompt (scenario and discipline framing, the matrix descriptions) and a good answer;
2. ``repair`` (optional): a draft the judge finds flawed is improved upward, fixing what it missed;
3. ``counterfactual``: the good answer rewritten into medium and poor, changing only the target
   dimension (its description, level descriptors and criteria with points and kind in the instruction),
   so medium and poor differ from good on that one attribute;
4. ``neutral``: a surface-only rewrite of the good answer (length, order, formatting or a paraphrase)
   that a reward model must score like good;
5. ``rubric`` (:mod:`.rubric`): rubric items for the prompt, contrasting the good and poor answers.

Every step asks for one JSON object with a fixed schema (sent for guided decoding where the server
supports it) and checks the reply with :func:`parse_fields`, which accepts nothing else, so garbage is
counted as malformed instead of slipping into training data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...jsonutil import JsonTextError, loads_json_reply

if TYPE_CHECKING:
    from ...standards.matrix import Criterion, StandardsMatrix
    from .planner import PlanItem

Messages = list[dict[str, str]]

SYSTEM_DRAFT = (
    "You write training data for a medical reward model: a realistic question for one cell of a clinical "
    "standards matrix and an excellent answer to it. Reply with ONE JSON object and nothing else."
)
SYSTEM_REPAIR = (
    "You improve answers to medical questions so they meet a clinical standard, fixing exactly the problems "
    "you are given and keeping everything that is already right. Reply with ONE JSON object and nothing else."
)
SYSTEM_COUNTERFACTUAL = (
    "You make counterfactual training pairs: copies of an answer that are worse on exactly one quality "
    "dimension and unchanged in every other respect. Reply with ONE JSON object and nothing else."
)
SYSTEM_NEUTRAL = (
    "You rewrite the surface of an answer — its length, order, formatting or wording — while keeping its "
    "content, advice and quality exactly the same. Reply with ONE JSON object and nothing else."
)
NEUTRAL_KINDS: dict[str, str] = {
    "length": "Make it noticeably shorter or longer by tightening or loosening the wording, without adding or "
    "removing any information, advice or caveat.",
    "order": "Reorder its sentences or points wherever the order does not matter; keep an urgent action, if "
    "there is one, first.",
    "format": "Change its formatting — bullets to prose or prose to bullets, headings, paragraphs — without "
    "changing what it says.",
    "paraphrase": "Paraphrase it sentence by sentence in different words with exactly the same meaning, "
    "precision and tone.",
}
"""The surface-only changes a neutral rewrite makes (one per record, chosen by its seed)."""


def string_schema(*fields: str) -> dict[str, Any]:
    """The JSON schema of an object of required non-empty strings."""
    return {
        "type": "object",
        "properties": {f: {"type": "string", "minLength": 1} for f in fields},
        "required": list(fields),
        "additionalProperties": False,
    }


def parse_fields(text: str, fields: tuple[str, ...]) -> tuple[dict[str, str] | None, str | None]:
    """``(fields, None)`` for a JSON object with every field a non-empty string (a ```json fence is
    unwrapped, other keys are ignored), else ``(None, why it is malformed)``; never raises."""
    try:
        data = loads_json_reply(text)
    except JsonTextError as error:
        return None, f"malformed: not JSON ({error.reason})"
    if not isinstance(data, dict):
        return None, "malformed: JSON is not an object"
    missing = [k for k in fields if not isinstance(data.get(k), str) or not data[k].strip()]
    if missing:
        return None, f"malformed: missing or empty field(s) {', '.join(missing)}"
    return {k: data[k].strip() for k in fields}, None


def criterion_line(c: Criterion) -> str:
    """``[+5, hard rule] text``: a criterion as the generator and the judge see it."""
    return f"[{c.points:+d}, {c.kind.replace('_', ' ')}] {c.text}"


def _cell(matrix: StandardsMatrix, item: PlanItem) -> str:
    scen, disc = matrix.scenario(item.scenario), matrix.discipline(item.discipline)
    return (
        f"Standards matrix: {matrix.name} - {matrix.description.strip()}\n"
        f"Scenario: {scen.name} - {scen.description.strip()}\n"
        f"Discipline: {disc.name} - {disc.description.strip()}\n"
    )


def _target(matrix: StandardsMatrix, item: PlanItem) -> str:
    dim = matrix.dimension(item.dimension)
    criteria = "\n".join(f"- {criterion_line(c)}" for c in matrix.criteria_for(dim.id, item.discipline))
    levels = "\n".join(f"- {level}: {dim.levels.get(level, '')}" for level in ("good", "medium", "poor"))
    return (
        f"Target dimension: {dim.name} - {dim.description.strip()}\n"
        f"Level descriptors:\n{levels}\n"
        f"Criteria of this dimension (points: positive for desirable, negative for harmful behaviour):\n"
        f"{criteria or '- (none listed)'}\n"
    )


DRAFT_FIELDS = ("prompt", "good")


def draft_messages(matrix: StandardsMatrix, item: PlanItem) -> Messages:
    """Step 1: a question for the item's cell and an answer that is good on every dimension."""
    good_levels = "\n".join(f"- {d.name}: {d.levels.get('good', '')}" for d in matrix.dimensions)
    user = (
        _cell(matrix, item)
        + f"\nWhat a good answer does, dimension by dimension:\n{good_levels}\n\n"
        + _target(matrix, item)
        + "\nWrite:\n"
        '1. "prompt": a realistic question that a patient, carer or clinician would ask in this scenario and '
        "discipline, in their own words, with the concrete details (age, history, medicines, setting) that "
        "matter for the answer;\n"
        '2. "good": an excellent answer that meets the good level on every dimension above and clearly '
        f"shows the behaviour the {matrix.dimension(item.dimension).name} criteria reward.\n"
        'Return {"prompt": "...", "good": "..."} only.'
    )
    return [{"role": "system", "content": SYSTEM_DRAFT}, {"role": "user", "content": user}]


REPAIR_FIELDS = ("good",)


def repair_messages(matrix: StandardsMatrix, item: PlanItem, prompt: str, good: str, flaws: list[str]) -> Messages:
    """Step 2 (optional): the draft improved upward, fixing the flaws the judge found."""
    listed = "\n".join(f"- {f}" for f in flaws)
    user = (
        _cell(matrix, item)
        + f"\nQuestion:\n{prompt}\n\nAnswer:\n{good}\n\n"
        + f"A clinical reviewer found these problems:\n{listed}\n\n"
        + "Rewrite the answer so that every problem is fixed and it meets the good level on every dimension; "
        "keep everything that is already right.\n"
        'Return {"good": "..."} only.'
    )
    return [{"role": "system", "content": SYSTEM_REPAIR}, {"role": "user", "content": user}]


COUNTERFACTUAL_FIELDS = ("medium", "poor")


def counterfactual_messages(matrix: StandardsMatrix, item: PlanItem, prompt: str, good: str) -> Messages:
    """Step 3: medium and poor as edits of the good answer along the target dimension only."""
    dim = matrix.dimension(item.dimension)
    others = ", ".join(d.name for d in matrix.dimensions if d.id != dim.id) or "every other dimension"
    user = (
        f"Question:\n{prompt}\n\nOriginal answer (good on every dimension):\n{good}\n\n"
        + _target(matrix, item)
        + "\nRewrite the original answer twice:\n"
        f'- "medium": worse on {dim.name} only, to the medium level;\n'
        f'- "poor": worse on {dim.name} only, to the poor level (for example by breaking its hard rules or doing '
        "what its negative-point criteria describe).\n"
        f"Change only what the {dim.name} degradation needs. Keep everything else - the other facts and advice, "
        f"length, structure, formatting, tone and wording - as in the original, so both copies stay as good as "
        f"the original on {others}.\n"
        'Return {"medium": "...", "poor": "..."} only.'
    )
    return [{"role": "system", "content": SYSTEM_COUNTERFACTUAL}, {"role": "user", "content": user}]


def parse_counterfactual(text: str, good: str) -> tuple[dict[str, str] | None, str | None]:
    """:func:`parse_fields` for medium and poor, which must differ from good and from each other."""
    fields, why = parse_fields(text, COUNTERFACTUAL_FIELDS)
    if fields is not None and len({good.strip(), fields["medium"], fields["poor"]}) < 3:
        return None, "malformed: good, medium and poor are not all different"
    return fields, why


NEUTRAL_FIELDS = ("neutral",)


def neutral_messages(prompt: str, good: str, kind: str) -> Messages:
    """Step 4: a surface-only rewrite of ``kind`` (a key of :data:`NEUTRAL_KINDS`)."""
    user = (
        f"Question:\n{prompt}\n\nAnswer:\n{good}\n\n"
        f"{NEUTRAL_KINDS[kind]} Keep every fact, recommendation, caveat and the tone; the rewrite must be "
        "exactly as good as the original on accuracy, completeness, safety, clarity and empathy.\n"
        'Return {"neutral": "..."} only.'
    )
    return [{"role": "system", "content": SYSTEM_NEUTRAL}, {"role": "user", "content": user}]


def parse_neutral(text: str, good: str) -> tuple[dict[str, str] | None, str | None]:
    """:func:`parse_fields` for the neutral rewrite, which must differ from good."""
    fields, why = parse_fields(text, NEUTRAL_FIELDS)
    if fields is not None and fields["neutral"] == good.strip():
        return None, "malformed: the neutral rewrite equals the good answer"
    return fields, why
