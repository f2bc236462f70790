"""The eviction extension point: given the cache's entries, name the page to drop.

A policy is one class with one method in one file of this package::

    @EVICTIONS.register("my_policy", default=True)   # default: in the sweep of `compare --cache-mb`
    class MyPolicy(EvictionPolicy):
        def victim(self, entries): ...

`entries` is an OrderedDict ``key → Entry`` in insertion order; each Entry has ``inserted``,
``last_used`` (a logical clock), ``hits`` and ``owners`` (the containers using the page).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from sysai.registry import Registry

if TYPE_CHECKING:
    from trio_lab.cache import Entry, Key


class EvictionPolicy(ABC):
    Config: Any = None  # a dataclass of this policy's options, or None

    def __init__(self, *, seed: int = 0, config: Any = None):
        self.seed = seed
        self.config = config if config is not None or self.Config is None else self.Config()

    @abstractmethod
    def victim(self, entries: "OrderedDict[Key, Entry]") -> "Key":
        """The key of the page to evict (entries is never empty)."""


EVICTIONS: Registry[Any] = Registry("eviction policy", package="trio_lab.evictions")
