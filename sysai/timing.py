"""A wall-clock timer for measurements (perf_counter based)."""

from __future__ import annotations

import time


class Timer:
    """``with Timer() as t: ...`` then ``t.elapsed`` in seconds (also readable while running)."""

    def __init__(self) -> None:
        self._start: float | None = None
        self._stop: float | None = None

    def __enter__(self) -> "Timer":
        self._start = time.perf_counter()
        self._stop = None
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = time.perf_counter()

    @property
    def elapsed(self) -> float:
        if self._start is None:
            return 0.0
        end = self._stop if self._stop is not None else time.perf_counter()
        return end - self._start

    @property
    def elapsed_ms(self) -> float:
        return self.elapsed * 1e3
