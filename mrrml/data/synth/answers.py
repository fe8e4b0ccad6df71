"""Structured answers: a list of tagged segments plus a layout, and the one renderer to text.

The template backend never edits answer *text*. It builds a good answer as segments, each tagged with
the element of the answer plan it realises (opener, direct answer, fact, rationale, context tailoring,
required element, escalation, support...), and degrades or rewrites it by changing segments or the
layout. That makes "medium and poor differ from good only along the target dimension" checkable
structurally with :func:`answer_diff`, not just by comparing strings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# Body segments are rendered in the requested list format; the rest are paragraphs.
BODY_KINDS = ("fact", "rationale", "differential", "context", "element", "escalation")
GROUP_OF = {
    "fact": "info",
    "rationale": "info",
    "differential": "info",
    "context": "info",
    "element": "action",
    "escalation": "safety",
}


@dataclass(frozen=True)
class Segment:
    """One piece of an answer. ``key`` is stable across versions of the same answer (e.g. ``fact:1``);
    ``variant`` says how it was realised (plain, wrong, jargon, contradict, dismissive...)."""

    kind: str
    key: str
    text: str
    variant: str = "plain"


@dataclass(frozen=True)
class Layout:
    """How body segments are laid out: ``format`` bullets|numbered|prose|mixed-bullets|mixed-numbered; ``signposts`` = group
    headings; ``headings`` the heading text per group (info, action, safety)."""

    format: str
    signposts: bool
    headings: tuple[str, str, str]


@dataclass(frozen=True)
class Answer:
    segments: tuple[Segment, ...]
    layout: Layout

    def with_segments(self, segments: list[Segment] | tuple[Segment, ...]) -> Answer:
        return replace(self, segments=tuple(segments))

    def with_layout(self, **changes: object) -> Answer:
        return replace(self, layout=replace(self.layout, **changes))


def _render_block(items: list[str], fmt: str) -> str:
    if fmt == "bullets":
        return "\n".join(f"- {t}" for t in items)
    if fmt == "numbered":
        return "\n".join(f"{i}. {t}" for i, t in enumerate(items, 1))
    if fmt == "prose":
        return " ".join(items)
    if fmt.startswith("mixed-"):  # half a list, half run-on prose: a partially followed format request
        half = max(1, len(items) // 2)
        head = _render_block(items[:half], fmt.removeprefix("mixed-"))
        return head + ("\n\n" + " ".join(items[half:]) if items[half:] else "")
    raise ValueError(f"unknown layout format {fmt!r}")


def render(answer: Answer) -> str:
    """Render to Markdown-ish text: paragraphs, and runs of body segments as one block per group."""
    layout = answer.layout
    headings = dict(zip(("info", "action", "safety"), layout.headings))
    parts: list[str] = []
    block: list[str] = []
    group: str | None = None

    def flush() -> None:
        nonlocal block
        if block:
            parts.append(_render_block(block, layout.format))
            block = []

    for seg in answer.segments:
        if seg.kind in BODY_KINDS:
            g = GROUP_OF[seg.kind]
            if g != group:
                flush()
                group = g
                if layout.signposts:
                    parts.append(f"**{headings[g]}**")
            block.append(seg.text)
        else:
            flush()
            group = None
            parts.append(seg.text)
    flush()
    return "\n\n".join(parts)


def answer_diff(a: Answer, b: Answer) -> set[str]:
    """What differs between two versions of one answer, as labels.

    A segment whose text changed to a ``jargon`` variant is labelled ``register``; any other added,
    removed or changed segment is labelled by its kind; a different order of shared segments is
    ``order``; layout fields that differ are ``layout.<field>``.
    """
    labels: set[str] = set()
    by_key_a = {s.key: s for s in a.segments}
    by_key_b = {s.key: s for s in b.segments}
    for key in by_key_a.keys() | by_key_b.keys():
        sa, sb = by_key_a.get(key), by_key_b.get(key)
        if sa is None or sb is None:
            labels.add((sa or sb).kind)  # type: ignore[union-attr]
        elif sa != sb:
            labels.add("register" if sb.variant == "jargon" and sa.kind == sb.kind else sb.kind)
    shared_a = [s.key for s in a.segments if s.key in by_key_b]
    shared_b = [s.key for s in b.segments if s.key in by_key_a]
    if shared_a != shared_b:
        labels.add("order")
    for field in ("format", "signposts", "headings"):
        if getattr(a.layout, field) != getattr(b.layout, field):
            labels.add(f"layout.{field}")
    return labels
