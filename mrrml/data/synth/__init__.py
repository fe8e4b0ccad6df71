"""Synthetic triplet data keyed to a standards matrix (``mrrml synth``).

planner -> backend (template | transformers | openai) -> consistency filter -> resumable runner.
See :mod:`.runner` for the resume guarantee and :mod:`.template` for how degradations stay on one
dimension.
"""
