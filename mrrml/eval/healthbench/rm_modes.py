"""Reward models and graders measured on HealthBench data.

* :func:`physician_preference_report` (:func:`physician_preference` as a dict) — on rows with
  physician-written ideal completions, how often the reward model scores the ideal above each
  reference model completion, overall, per theme and per physician group, with bootstrap intervals
  over rows; beside it, on exactly the same pairs, the baselines a reward model must beat to show it
  reads medicine rather than surface: a coin flip (0.5), prefer the longer (shorter) answer, prefer
  the answer with more (less) Markdown. Ties count half; their number is reported.
* :func:`rm_grader_correlation` — the reward model as a cheap grader: Spearman correlation, per
  axis, between the dimension head of the same name and the grader's axis score on graded
  completions (the ``healthbench`` matrix's dimension ids are the axis names).
* :func:`pairwise_agreement` / :func:`meta_eval` — agreement of a grader with physicians on the
  meta-eval rows, as the reference reports it: for every (rater label, other physician's label)
  pair, precision and recall per class, their F1, and the balanced (mean of both classes) values.

A reward model is anything with ``score(prompts, answers, batch_size=...) -> ScoreResult`` whose
result has ``dimensions`` (ids), ``raw`` ([N, D]) and ``reward`` ([N]) — :class:`mrrml.model.RewardModel`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from ..quality.bootstrap import BootstrapSettings, Estimate, ratio_estimate
from .data import Example, MetaEvalRow
from .grader import GradeJob, RubricGrader
from .grades import GradedExample
from .scoring import rubric_score


class ScoresLike(Protocol):
    dimensions: list[str]
    raw: Any  # [N, D] tensor or array
    reward: Any  # [N]


class RewardModelLike(Protocol):
    def score(self, prompts: list, answers: list[str], *, batch_size: int = 16) -> ScoresLike: ...


def _np(x: Any) -> np.ndarray:
    return x.detach().float().cpu().numpy() if hasattr(x, "detach") else np.asarray(x, dtype=float)


# ------------------------------------------------------------------------ physician preference
PREFERENCE_JUDGES = (
    "model",
    "random",
    "prefer_longer",
    "prefer_shorter",
    "prefer_more_markdown",
    "prefer_less_markdown",
)
"""The judges of physician preference, all on the same pairs: the reward model, a coin flip (0.5 in
expectation; scored as a tie on every pair), and four surface heuristics: the answer with more (or
fewer) whitespace-separated words, and with more (or fewer) Markdown elements
(:func:`markdown_elements`). Each heuristic comes with its opposite (whose accuracy is one minus its
own), so that the best heuristic a reward model must beat is in the table whichever way physicians
lean: on HealthBench the ideal completions carry less Markdown than the reference completions."""

_MARKDOWN = (
    re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.M),  # list items
    re.compile(r"^\s*#{1,6}\s", re.M),  # headings
    re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__"),  # bold
    re.compile(r"^\s*\|.*\|\s*$", re.M),  # table rows
    re.compile(r"^\s*```", re.M),  # code fences
    re.compile(r"\[[^\]\n]+\]\([^)\n]+\)"),  # links
)


def word_count(text: str) -> int:
    """Whitespace-separated words: the length the prefer-longer baseline compares."""
    return len(text.split())


def markdown_elements(text: str) -> int:
    """Markdown elements in ``text``: list items, headings, bold spans, table rows, code fences, links."""
    return sum(len(pattern.findall(text)) for pattern in _MARKDOWN)


def _tally(wins: int, ties: int, pairs: int) -> dict[str, float]:
    return {
        "pairs": pairs,
        "wins": wins,
        "ties": ties,
        "accuracy": (wins + 0.5 * ties) / pairs if pairs else float("nan"),
    }


@dataclass(frozen=True)
class PreferenceAccuracy:
    """Share of pairs where a judge prefers the ideal completion (a tie counts half), with its bootstrap
    interval over HealthBench rows: a row's reference completions share its ideal answer, so rows, not
    pairs, are resampled. ``accuracy.count`` is the number of pairs, ``accuracy.units`` of rows."""

    accuracy: Estimate
    wins: int
    ties: int

    def tally(self) -> dict[str, float]:
        """The raw counts (pairs, wins, ties, accuracy) in the form earlier versions reported."""
        return _tally(self.wins, self.ties, int(self.accuracy.count))

    def to_dict(self) -> dict[str, Any]:
        return {**self.accuracy.to_dict(), "wins": self.wins, "ties": self.ties}


@dataclass(frozen=True)
class PreferenceTable:
    """One judge's :class:`PreferenceAccuracy` overall, per theme and per physician group."""

    overall: PreferenceAccuracy
    by_theme: dict[str, PreferenceAccuracy]
    by_group: dict[str, PreferenceAccuracy]

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.to_dict(),
            "by_theme": {k: v.to_dict() for k, v in self.by_theme.items()},
            "by_group": {k: v.to_dict() for k, v in self.by_group.items()},
        }


@dataclass(frozen=True)
class PhysicianPreference:
    """Physician preference on every (ideal, reference completion) pair of the rows that have both.

    ``judges`` holds :data:`PREFERENCE_JUDGES`, each scored on exactly the same pairs: a reward model
    reads more than length or layout only where it beats every heuristic (:meth:`best_heuristic`), and
    more than chance only where its interval excludes 0.5.
    """

    judges: dict[str, PreferenceTable]
    examples: int
    examples_without_pairs: int
    bootstrap: BootstrapSettings

    def best_heuristic(self) -> str:
        """The surface heuristic with the highest overall accuracy on these pairs."""
        heuristics = [j for j in self.judges if j.startswith("prefer_")]
        return max(heuristics, key=lambda j: np.nan_to_num(self.judges[j].overall.accuracy.value, nan=-1.0))

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``overall``/``by_theme``/``by_group`` are the model's raw tallies as earlier versions
        reported them; ``judges`` has every judge with intervals; ``best_heuristic`` names the strongest
        surface heuristic."""
        model = self.judges["model"]
        return {
            "overall": model.overall.tally(),
            "by_theme": {k: v.tally() for k, v in model.by_theme.items()},
            "by_group": {k: v.tally() for k, v in model.by_group.items()},
            "examples": self.examples,
            "examples_without_pairs": self.examples_without_pairs,
            "judges": {name: table.to_dict() for name, table in self.judges.items()},
            "best_heuristic": self.best_heuristic(),
            "bootstrap": asdict(self.bootstrap),
        }


def _judge_scores(rm: RewardModelLike, prompts: list, answers: list[str], batch_size: int) -> dict[str, np.ndarray]:
    """Per judge, one number per answer; a judge prefers the answer with the higher number."""
    rewards = _np(rm.score(prompts, answers, batch_size=batch_size).reward) if answers else np.zeros(0)
    words = np.array([word_count(a) for a in answers], dtype=float)
    markdown = np.array([markdown_elements(a) for a in answers], dtype=float)
    return {
        "model": rewards,
        "random": np.zeros(len(answers)),  # every pair a tie: the coin flip's expected 0.5
        "prefer_longer": words,
        "prefer_shorter": -words,
        "prefer_more_markdown": markdown,
        "prefer_less_markdown": -markdown,
    }


def _accuracy(wins: np.ndarray, ties: np.ndarray, pairs: np.ndarray, rows: list[str], settings) -> PreferenceAccuracy:
    return PreferenceAccuracy(
        ratio_estimate(wins + 0.5 * ties, pairs, settings, rows), int(wins.sum()), int(ties.sum())
    )


def physician_preference_report(
    rm: RewardModelLike,
    examples: Sequence[Example],
    batch_size: int = 16,
    bootstrap: BootstrapSettings | None = None,
) -> PhysicianPreference:
    """Score every ideal and reference completion once (one ``rm.score`` call; a row's completions share
    its prompt) and compare the ideal with each reference under every judge of :data:`PREFERENCE_JUDGES`."""
    bootstrap = bootstrap or BootstrapSettings()
    rows = [ex for ex in examples if ex.ideal is not None and ex.ideal.reference_completions]
    prompts, answers, spans = [], [], []
    for ex in rows:
        candidates = [ex.ideal.ideal_completion, *ex.ideal.reference_completions]
        spans.append((len(answers), len(candidates)))
        prompts += [ex.prompt] * len(candidates)
        answers += candidates
    ids = [ex.prompt_id for ex in rows]
    themes: dict[str, list[int]] = defaultdict(list)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, ex in enumerate(rows):
        themes[str(ex.theme)].append(i)
        groups[str(ex.ideal.group)].append(i)
    judges: dict[str, PreferenceTable] = {}
    for name, scores in _judge_scores(rm, prompts, answers, batch_size).items():
        wins = np.array([(scores[a] > scores[a + 1 : a + n]).sum() for a, n in spans], dtype=float)
        ties = np.array([(scores[a] == scores[a + 1 : a + n]).sum() for a, n in spans], dtype=float)
        pairs = np.array([n - 1 for _, n in spans], dtype=float)

        def cut(members: list[int], w=wins, t=ties, p=pairs) -> PreferenceAccuracy:
            return _accuracy(w[members], t[members], p[members], [ids[i] for i in members], bootstrap)

        judges[name] = PreferenceTable(
            overall=cut(list(range(len(rows)))),
            by_theme={k: cut(v) for k, v in sorted(themes.items())},
            by_group={k: cut(v) for k, v in sorted(groups.items())},
        )
    return PhysicianPreference(judges, len(rows), len(examples) - len(rows), bootstrap)


def physician_preference(rm: RewardModelLike, examples: Sequence[Example], batch_size: int = 16) -> dict[str, Any]:
    """:func:`physician_preference_report` as a dict (the form the CLI and the demo write; default bootstrap)."""
    return physician_preference_report(rm, examples, batch_size).to_dict()


# ------------------------------------------------------------------------- RM as a cheap grader
def _ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=float)
    sorted_x = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(a: Iterable[float], b: Iterable[float]) -> float:
    """Spearman's rho (Pearson of average ranks); NaN when either side is constant or n < 2."""
    x, y = np.asarray(list(a), dtype=float), np.asarray(list(b), dtype=float)
    if len(x) < 2:
        return float("nan")
    rx, ry = _ranks(x), _ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def rm_grader_correlation(rm: RewardModelLike, graded: Sequence[GradedExample], batch_size: int = 16) -> dict[str, Any]:
    """Per-axis Spearman between the RM's same-named head and the grader's axis score."""
    usable = [g for g in graded if not g.failed_items]
    if not usable:
        return {"axes": {}, "overall": {"spearman": float("nan"), "n": 0}, "examples_excluded": len(graded)}
    result = rm.score([g.prompt for g in usable], [g.completion for g in usable], batch_size=batch_size)
    raw, reward, dims = _np(result.raw), _np(result.reward), list(result.dimensions)
    overall = [rubric_score((i.points, bool(i.criteria_met)) for i in g.rubrics) for g in usable]
    axes: dict[str, Any] = {}
    axis_names = sorted({t[5:] for g in usable for i in g.rubrics for t in i.tags if t.startswith("axis:")})
    for axis in axis_names:
        if axis not in dims:
            axes[axis] = {"spearman": None, "n": 0, "note": "no reward head with this id"}
            continue
        d = dims.index(axis)
        pairs = []
        for row, g in enumerate(usable):
            score = rubric_score((i.points, bool(i.criteria_met)) for i in g.rubrics if f"axis:{axis}" in i.tags)
            if score is not None:
                pairs.append((raw[row, d], score))
        axes[axis] = {"spearman": spearman(*zip(*pairs)) if pairs else float("nan"), "n": len(pairs)}
    return {
        "axes": axes,
        "overall": {"spearman": spearman(reward, overall), "n": len(usable)},
        "dimensions": dims,
        "examples_excluded": len(graded) - len(usable),
    }


# ----------------------------------------------------------------------------------- meta-eval
def _rate(hits: list[bool]) -> dict[str, float | None]:
    return {"n": len(hits), "value": sum(hits) / len(hits) if hits else None}


def _f1(precision: dict, recall: dict) -> dict[str, float | None]:
    p, r = precision["value"], recall["value"]
    if p is None or r is None:
        return {"n": precision["n"] + recall["n"], "value": None}
    true_pos = p * precision["n"]
    value = 0.0 if p == 0 and r == 0 else 2 * p * r / (p + r)
    return {"n": precision["n"] + recall["n"] - true_pos, "value": value}


def pairwise_agreement(
    labels: Sequence[bool], others: Sequence[Sequence[bool]], clusters: Sequence[str], who: str
) -> dict[str, dict[str, float | None]]:
    """Agreement of one rater's ``labels`` with every other label of the same item.

    Precision of class c counts the pairs where this rater said c; recall of c the pairs where the
    other physician said c; the value is the share of those pairs that agree. Keys follow the
    reference: ``pairwise_{who}_{precision|recall|f1}_{pos|neg|balanced}``, and the same prefixed
    with ``"{cluster}: "``.
    """
    hits: dict[str, list[bool]] = defaultdict(list)
    for mine, theirs, cluster in zip(labels, others, clusters, strict=True):
        for other in theirs:
            agree = mine == other
            for metric, cls in (("precision", mine), ("recall", other)):
                key = f"pairwise_{who}_{metric}_{'pos' if cls else 'neg'}"
                hits[key].append(agree)
                hits[f"{cluster}: {key}"].append(agree)
    out = {k: _rate(v) for k, v in hits.items()}
    for key in [k for k in out if "_precision_" in k]:
        if key.replace("_precision_", "_recall_") in out:
            out[key.replace("_precision_", "_f1_")] = _f1(out[key], out[key.replace("_precision_", "_recall_")])
    for key in [k for k in out if k.endswith("_pos")]:
        neg = key[:-4] + "_neg"
        if neg in out:
            a, b = out[key]["value"], out[neg]["value"]
            out[key[:-4] + "_balanced"] = {
                "n": out[key]["n"] + out[neg]["n"],
                "value": None if a is None or b is None else (a + b) / 2,
            }
    return out


def physician_agreement(rows: Sequence[MetaEvalRow]) -> dict[str, float]:
    """Each physician scored against the other physicians on the same items, averaged over physicians."""
    per_physician: dict[str, tuple[list, list, list]] = defaultdict(lambda: ([], [], []))
    for row in rows:
        for i, pid in enumerate(row.physician_ids):
            mine, others, clusters = per_physician[pid]
            mine.append(row.binary_labels[i])
            others.append(row.binary_labels[:i] + row.binary_labels[i + 1 :])
            clusters.append(row.category)
    values: dict[str, list[float]] = defaultdict(list)
    for labels, others, clusters in per_physician.values():
        for key, metric in pairwise_agreement(labels, others, clusters, "physician").items():
            if metric["value"] is not None:
                values[key].append(metric["value"])
    return {k: float(np.mean(v)) for k, v in values.items()}


def meta_eval(grader: RubricGrader, rows: Sequence[MetaEvalRow]) -> dict[str, Any]:
    """Grade every meta-eval row and report the grader's (and physicians') pairwise agreement."""
    jobs = [GradeJob([*row.prompt, {"role": "assistant", "content": row.completion}], row.rubric) for row in rows]
    grades = grader.grade(jobs)
    kept = [(row, g.criteria_met) for row, g in zip(rows, grades) if g.criteria_met is not None]
    model = pairwise_agreement(
        [m for _, m in kept], [r.binary_labels for r, _ in kept], [r.category for r, _ in kept], "model"
    )
    metrics = {k: v["value"] for k, v in model.items() if v["value"] is not None}
    return {
        "metrics": metrics,
        "n_by_key": {k: v["n"] for k, v in model.items()},
        "physician_baseline": physician_agreement([r for r, _ in kept]),
        "rows": len(rows),
        "rows_failed": len(rows) - len(kept),
        "grader_positive_rate": float(np.mean([m for _, m in kept])) if kept else float("nan"),
    }
