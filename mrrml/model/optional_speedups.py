"""Optional speedups (packing, last-layer pruning): whether one runs, and saying once why not.

A speedup that cannot run on a backbone (its attention kernel cannot take a block mask, its layer type
is not supported) falls back to the plain path. The reason is logged once per backbone and reason, so
a scoring loop that asks on every call does not repeat the same line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_declined: set[tuple[int, str]] = set()


def optional_speedup(
    backbone: Any, requested: bool, why_not: Callable[[Any], str | None], level: int = logging.WARNING
) -> bool:
    """Whether an optional optimisation (packing, last-layer pruning) runs on ``backbone``.

    ``why_not(backbone)`` gives the reason it cannot (None when it can). A declined request is logged
    once per backbone and reason, so a scoring loop does not repeat the warning on every call; at
    ``level``: a warning where the user asked for the optimisation, INFO where a default chose it."""
    if not requested:
        return False
    reason = why_not(backbone)
    if reason is None:
        return True
    if (id(backbone), reason) not in _declined:
        _declined.add((id(backbone), reason))
        log.log(level, "mrrml: %s", reason)
    return False
