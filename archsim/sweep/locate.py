"""Problems in values a sweep supplied, moved from ``--set`` to the sweep file's line.

Point configs are built with ``apply_overrides``, so a problem in a swept value is first
reported against ``--set`` with the key relative to its file (``sram.banks``). ``relocate``
finds the sweep key that supplied it (``arch.sram.banks``) and reports it there instead.
Problems the graph builder reports against the run options (``--input``, ``--batch``,
``--precision``) move to ``run.input``, ``run.batch`` and ``run.precision``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from archsim.config.source import OVERRIDE_FILE
from archsim.errors import Problem
from archsim.sweep.spec import RUN_BATCH, RUN_INPUT, RUN_PRECISION

_RUN_OPTIONS = {"--input": RUN_INPUT, "--batch": RUN_BATCH, "--precision": RUN_PRECISION}

Sources = Mapping[str, Problem]
"""Sweep key (e.g. 'arch.sram.banks') -> a message-less Problem located at that key."""


def relocate(problem: Problem, prefixes: Sequence[str], sources: Sources) -> Problem:
    """``problem`` at the sweep key that set its value, if a sweep key did; else unchanged.

    ``prefixes`` are the sweep prefixes the problem's file may have (``arch.``,
    ``workload.``); the longest sweep key at or above the problem's key wins.
    """
    run_key = _RUN_OPTIONS.get(problem.file or "")
    if run_key is not None and run_key in sources:
        return replace(sources[run_key], message=f"{problem.path}: {problem.message}")
    if problem.file != OVERRIDE_FILE:
        return problem
    for prefix in prefixes:
        full = prefix + problem.path
        owners = [key for key in sources if full == key or full.startswith(key + ".")]
        if owners:
            owner = max(owners, key=len)
            message = problem.message if full == owner else f"{full}: {problem.message}"
            return replace(sources[owner], message=message)
    return problem
