"""FIFO: drop the page inserted first, ignoring how often it is read."""

from __future__ import annotations

from trio_lab.evictions.base import EVICTIONS, EvictionPolicy


@EVICTIONS.register("fifo", default=True)
class Fifo(EvictionPolicy):
    def victim(self, entries):
        return next(iter(entries))
