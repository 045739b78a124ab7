"""A progress bar with ETA on stderr (tqdm), shown only on a terminal."""

from __future__ import annotations

import sys
from collections import Counter
from types import TracebackType
from typing import Any

from archsim.sweep.point import PointRecord


class Progress:
    """Counts finished points; draws a tqdm bar when ``enabled`` and stderr is a TTY."""

    def __init__(self, total: int, *, enabled: bool, description: str = "sweep") -> None:
        self.counts: Counter[str] = Counter()
        self._bar: Any = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=description, unit="pt", file=sys.stderr)

    def update(self, record: PointRecord) -> None:
        """Count one finished point."""
        self.counts[record.status.value] += 1
        if self._bar is not None:
            self._bar.set_postfix(dict(sorted(self.counts.items())), refresh=False)
            self._bar.update(1)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.close()
