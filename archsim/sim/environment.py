"""The run's SimPy environment: the one place run state lives (seed, event count)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import simpy
from simpy.core import EmptySchedule

_UNCHUNKED = 1 << 20  # events between counter updates when nobody asks for chunks


class SimEnvironment(simpy.Environment):
    """A SimPy environment that owns the run's seed and counts the events it processes."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.seed = seed
        self.seed_sequence = np.random.SeedSequence(seed)
        self.events_processed = 0

    def run_counting(self, on_chunk: Callable[[], None] | None = None, chunk: int = 0) -> None:
        """Run until no event is left (as ``run()`` does), counting processed events; with
        ``on_chunk``, call it after every ``chunk`` events (a progress bar)."""
        step = self.step
        if on_chunk is None or chunk < 1:
            chunk = _UNCHUNKED
        stepped = 0  # events processed in the current chunk
        try:
            while True:
                for stepped in range(chunk):  # noqa: B007 (counted when the run stops)
                    step()
                stepped = 0
                self.events_processed += chunk
                if on_chunk is not None:
                    on_chunk()
        except EmptySchedule:
            pass
        finally:
            self.events_processed += stepped
