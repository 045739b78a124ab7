"""A progress bar of one run on stderr (tqdm): operations done, simulated time, frames ended.

Shown only when asked for and stderr is a terminal, and only once a run has lasted
``DELAY_S`` of wall time, so short runs print nothing. The engine updates it every
``CHUNK_EVENTS`` SimPy events: the run loop stays a plain loop between updates, and what
is simulated does not depend on whether a bar is drawn.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from archsim.units import PS_PER_MS

CHUNK_EVENTS = 16_384
"""SimPy events between two updates of the bar."""

DELAY_S = 1.0
"""Wall seconds a run must last before its bar appears."""

REFRESH_S = 0.1
"""Least wall seconds between two redraws of the bar."""


class RunProgress:
    """One run's bar: ``update`` it with the ops completed, the simulated time and the
    frames ended; ``close`` it when the run stops."""

    def __init__(
        self, label: str, total_ops: int, frames: int, stream: IO[str] | None = None
    ) -> None:
        from tqdm import tqdm  # the bar's library loads only when a bar is drawn

        self.frames = frames
        self._bar: Any = tqdm(
            total=total_ops,
            desc=label,
            unit="op",
            unit_scale=True,
            delay=DELAY_S,
            mininterval=REFRESH_S,
            file=stream if stream is not None else sys.stderr,
            leave=False,
        )

    def update(self, completed_ops: int, now_ps: int, frames_ended: int) -> None:
        """Show ``completed_ops`` done at simulated time ``now_ps``."""
        postfix = {"sim": f"{now_ps / PS_PER_MS:.3f} ms"}
        if self.frames > 1:
            postfix["frames"] = f"{frames_ended}/{self.frames}"
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(completed_ops - self._bar.n)

    def close(self) -> None:
        """Remove the bar."""
        self._bar.close()


def wants_bar(enabled: bool, stream: IO[str] | None = None) -> bool:
    """Whether a bar is drawn: asked for, and the stream (stderr) is a terminal."""
    target = stream if stream is not None else sys.stderr
    return enabled and target.isatty()
