"""The run's SimPy environment: the one place run state lives (seed, event count)."""

from __future__ import annotations

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

    def run_counting(self) -> None:
        """Run until no event is left (as ``run()`` does), counting processed events."""
        step = self.step
        processed = 0
        try:
            while True:
                step()
                processed += 1
        except EmptySchedule:
            pass
        finally:
            self.events_processed += processed
