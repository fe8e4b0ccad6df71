"""Reward quality measured where it matters: held-out conditions, spurious features, best-of-N and
physicians.

* :func:`evaluate` -> :class:`QualityReport` (what each number means: :mod:`.report`);
* :func:`summary_tables` — the report as text tables (console, HTML report);
* :func:`across_seeds` / :func:`headline_metrics` — mean ± std of several runs of one recipe;
* :func:`make_variant` / :data:`VARIANT_KINDS` — the spurious-feature variants on their own.
"""

from __future__ import annotations

from ..._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "evaluate": ".evaluation",
        "QualityReport": ".report",
        "summary_tables": ".summary",
        "across_seeds": ".seeds",
        "headline_metrics": ".seeds",
        "VARIANT_KINDS": ".variants",
        "make_variant": ".variants",
        "Estimate": ".bootstrap",
        "BootstrapSettings": ".bootstrap",
    },
)
