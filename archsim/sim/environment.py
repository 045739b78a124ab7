"""The run's SimPy environment: the one place run state lives (seed, event count)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import simpy
from simpy.core import EmptySchedule


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
        processed = 0
        chunked = on_chunk is not None and chunk >= 1
        try:
            if not chunked:
                while True:
                    step()
                    processed += 1
            while True:
                for done in range(chunk):  # noqa: B007 (read after the loop breaks)
                    step()
                processed += chunk
                on_chunk()  # type: ignore[misc]
        except EmptySchedule:
            if chunked:
                processed += done
        finally:
            self.events_processed += processed
