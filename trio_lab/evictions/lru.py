"""LRU: drop the page whose last use is oldest (ties: the one inserted first).

Task 1.4: a warm page that every container keeps reading should survive a burst of one-off
pages; FIFO would drop it just for being old.
"""

from __future__ import annotations

from trio_lab.evictions.base import EVICTIONS, EvictionPolicy


@EVICTIONS.register("lru", default=True)
class Lru(EvictionPolicy):
    def victim(self, entries):
        # BEGIN SOLUTION task1_4
        return min(entries, key=lambda key: (entries[key].last_used, entries[key].inserted))
        # END SOLUTION
