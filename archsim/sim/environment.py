"""The run's SimPy environment: the one place run state lives (seed, event count)."""

from __future__ import annotations

import numpy as np
import simpy
from simpy.core import SimTime
from simpy.events import NORMAL, Event, EventPriority


class SimEnvironment(simpy.Environment):
    """A SimPy environment that owns the run's seed and counts scheduled events."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.seed = seed
        self.seed_sequence = np.random.SeedSequence(seed)
        self.events_scheduled = 0

    def schedule(self, event: Event, priority: EventPriority = NORMAL, delay: SimTime = 0) -> None:
        """Schedule an event (counted)."""
        self.events_scheduled += 1
        super().schedule(event, priority, delay)
