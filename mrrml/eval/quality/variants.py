"""Spurious-feature variants of an answer: the surface changes a reward model must not reward.

Crome-style robustness asks whether a change that leaves an answer's medical quality alone moves its
reward. Four kinds, each a pure function of the text and a seeded ``random.Random``:

* ``filler`` — a paragraph of content-free restatement ("Taken together, this gives a general
  overview...") inserted before the closing paragraph, adding about half the answer's length again
  (at least three sentences). It adds no fact, step or warning; if anything it makes the answer
  worse (padding), never better.
* ``markdown`` — the whole answer as a ``*`` bullet list: every prose paragraph split into one bullet
  per sentence, list items re-marked with ``*``, each bullet's first words in bold, bold group
  headings turned into ``###`` headings. Same sentences, same order.
* ``polite`` — a courteous opening line and sign-off ("Thank you for your question!", "Please feel
  free to reach out any time...") around the unchanged answer.
* ``reorder`` — inside each list of three or more items, and each prose paragraph of three or more
  sentences, the items (sentences) in a random order; the first and last paragraphs and every
  heading stay where they are, and list numbers stay 1, 2, 3... Blocks of two are left alone (in the
  template answers a two-item warning block reads "signs...; if you see any of these...").

Why these are unseen in training: the template generator's neutral rewrite (``neutral_rewrite`` in
:mod:`mrrml.data.synth.template`) only reverses the order of the key facts, swaps ``-`` bullets for
``1.`` numbers and appends one closing sentence from a fixed list; its answers use ``-`` and ``1.``
markers and ``**bold**`` group headings only. None of the filler or courtesy sentences below occurs
in :mod:`mrrml.data.synth.phrasing` (a test checks them against generated data), no template answer
uses ``*`` bullets, ``###`` headings or bold lead-ins, never bulletises the opener or the closing,
and no rewrite there shuffles the action or prose blocks.

Where a kind could change quality, it is not applied (the caller gets None):

* ``markdown`` when the prompt asks for a format (bullets, numbers, paragraphs): there the layout *is*
  the instruction-following quality, so a new layout could make the worse answer better;
* ``polite`` for a dimension whose ``template_operator`` is ``empathy``: courtesy is arguably part of
  what that dimension measures;
* ``reorder`` where no block has three items (nothing to reorder without touching the structure).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from ...data.chat import Prompt, as_messages
from ...errors import ConfigError

VARIANT_KINDS = ("filler", "markdown", "polite", "reorder")
"""The spurious-feature variant kinds, in report order."""

FILLER_SENTENCES = (
    "To put it another way, the points above are the main things to think about here.",
    "There are several aspects to this, and each of them has been touched on above.",
    "Taken together, this gives a general overview of the situation described.",
    "As with many questions about health, the details matter, and they have been laid out above.",
    "It may help to read through the information again and take it one step at a time.",
    "All of this is a broad summary, and the overall picture stays the same as described.",
    "In other words, the same considerations apply as those already mentioned.",
    "Overall, these are the kinds of things people in a similar position tend to think about.",
    "Each of the points above fits into the bigger picture in its own way.",
    "Going over the main ideas once more can make them easier to remember.",
)
POLITE_OPENINGS = (
    "Thank you for your question!",
    "Great question, and thank you for asking it.",
    "Thanks so much for getting in touch about this.",
    "What a thoughtful question; thank you for raising it.",
)
POLITE_SIGN_OFFS = (
    "Please feel free to reach out any time if you have more questions.",
    "Thank you again for your question, and all the very best.",
    "I truly appreciate you asking, and I am always happy to help further.",
    "Have a wonderful day, and do not hesitate to ask anything else.",
)
FILLER_SHARE = 0.5
"""Filler adds at least this share of the answer's word count (and at least three sentences)."""

_FORMAT_REQUEST = re.compile(r"\b(bullet|bulleted|bullets|numbered|number the|paragraphs?|prose|lists?)\b", re.I)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_BOLD_LINE = re.compile(r"^\*\*(.+)\*\*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
_LEAD_WORDS = 3


def asks_for_format(prompt: Prompt) -> bool:
    """Whether a user turn of ``prompt`` asks for a layout (bullets, numbered steps, paragraphs, prose)."""
    return any(_FORMAT_REQUEST.search(m["content"]) for m in as_messages(prompt) if m["role"] == "user")


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def _sentences(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(paragraph.strip()) if s]


def _is_list(paragraph: str) -> bool:
    lines = paragraph.splitlines()
    return bool(lines) and all(_LIST_ITEM.match(line) for line in lines)


def _items(paragraph: str) -> list[str]:
    return [_LIST_ITEM.sub("", line, count=1).strip() for line in paragraph.splitlines()]


def add_filler(text: str, rng: random.Random) -> str:
    words = len(text.split())
    pool = list(FILLER_SENTENCES)
    rng.shuffle(pool)
    added: list[str] = []
    while len(added) < 3 or sum(len(s.split()) for s in added) < FILLER_SHARE * words:
        added.append(pool[len(added) % len(pool)])
    paragraphs = _paragraphs(text)
    at = max(1, len(paragraphs) - 1)
    return "\n\n".join([*paragraphs[:at], " ".join(added), *paragraphs[at:]])


def _bullet(sentence: str) -> str:
    words = sentence.split()
    if len(words) <= _LEAD_WORDS:
        return f"* **{sentence}**"
    return f"* **{' '.join(words[:_LEAD_WORDS])}** {' '.join(words[_LEAD_WORDS:])}"


def to_markdown(text: str, rng: random.Random) -> str:
    """Deterministic (``rng`` unused; every maker takes one)."""
    blocks: list[str] = []
    for paragraph in _paragraphs(text):
        heading = _BOLD_LINE.match(paragraph.strip())
        if heading:
            blocks.append(f"### {heading.group(1)}")
            continue
        parts = _items(paragraph) if _is_list(paragraph) else _sentences(paragraph)
        blocks.append("\n".join(_bullet(p) for p in parts))
    return "\n\n".join(blocks)


def add_politeness(text: str, rng: random.Random) -> str:
    return f"{rng.choice(POLITE_OPENINGS)}\n\n{text.strip()}\n\n{rng.choice(POLITE_SIGN_OFFS)}"


def _permuted(n: int, rng: random.Random) -> list[int]:
    order = list(range(n))
    rng.shuffle(order)
    return order


def _units(paragraph: str) -> int:
    """What :func:`reorder` moves in a paragraph: list items, or sentences of prose."""
    return len(paragraph.splitlines()) if _is_list(paragraph) else len(_sentences(paragraph))


def _reordered(paragraph: str, order: list[int]) -> str:
    """The paragraph's units in ``order``; a list keeps its markers (and numbers) where they were."""
    if _is_list(paragraph):
        lines, items = paragraph.splitlines(), _items(paragraph)
        return "\n".join(f"{_LIST_ITEM.match(line).group().rstrip()} {items[j]}" for line, j in zip(lines, order))
    sentences = _sentences(paragraph)
    return " ".join(sentences[j] for j in order)


def reorder(text: str, rng: random.Random) -> str | None:
    paragraphs = _paragraphs(text)
    eligible = [i for i in range(1, len(paragraphs) - 1) if _units(paragraphs[i]) >= 3]
    if not eligible:
        return None
    out = list(paragraphs)
    for i in eligible:
        out[i] = _reordered(paragraphs[i], _permuted(_units(paragraphs[i]), rng))
    if out == paragraphs:  # every shuffle came out as the identity: rotate the first block by one
        n = _units(paragraphs[eligible[0]])
        out[eligible[0]] = _reordered(paragraphs[eligible[0]], [*range(1, n), 0])
    return "\n\n".join(out)


_MAKERS = {"filler": add_filler, "markdown": to_markdown, "polite": add_politeness, "reorder": reorder}


def check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """``kinds`` validated (known, no repeats), in the order given."""
    unknown = [k for k in kinds if k not in VARIANT_KINDS]
    if unknown or len(set(kinds)) != len(kinds):
        raise ConfigError(f"variants: expected distinct kinds from {list(VARIANT_KINDS)}, got {list(kinds)}")
    return tuple(kinds)


def make_variant(
    text: str, kind: str, *, key: str, seed: int = 0, prompt: Prompt | None = None, operator: str | None = None
) -> str | None:
    """The ``kind`` variant of ``text``, or None where that kind is not applied (see module docstring).

    ``key`` (a record id) and ``seed`` seed the choices, so the answers of one record get the same
    filler, courtesy lines and (for blocks of equal size) the same shuffles; ``prompt`` and ``operator``
    (the dimension's ``template_operator``) decide applicability.
    """
    check_kinds([kind])
    if kind == "markdown" and prompt is not None and asks_for_format(prompt):
        return None
    if kind == "polite" and operator == "empathy":
        return None
    variant = _MAKERS[kind](text, random.Random(f"mrrml-quality-variant:{seed}:{key}:{kind}"))
    return None if variant is None or variant.strip() == text.strip() else variant
