"""The dependency graph an agent may see: who calls whom, and who shares a host.

It comes from a shipped or user system (:mod:`copilot_lab.system`), from a ``--topology`` YAML
file, or is inferred from trace parent/child spans when a user has nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass
class Graph:
    names: list[str]
    adjacency: np.ndarray  # [caller, callee] bool
    colocated: np.ndarray  # [i, j] bool, i != j on the same host
    entry: int | None = None
    causal: np.ndarray | None = None  # [cause, effect] bool when the user gave causal edges

    def effects(self) -> np.ndarray:
        """[cause, effect]: the given causal edges, else callee → caller (a fault in a callee
        shows in its callers)."""
        return self.causal if self.causal is not None else self.adjacency.T

    @property
    def n(self) -> int:
        return len(self.names)

    @cached_property
    def order(self) -> list[int]:
        """Topological order, callers before callees (services on a cycle are left out)."""
        indegree = self.adjacency.sum(axis=0).astype(int)
        ready = [i for i in range(self.n) if indegree[i] == 0]
        out: list[int] = []
        while ready:
            i = ready.pop(0)
            out.append(i)
            for j in np.flatnonzero(self.adjacency[i]):
                indegree[j] -= 1
                if indegree[j] == 0:
                    ready.append(int(j))
        return out

    @cached_property
    def upstream(self) -> np.ndarray:
        """[i, j] True when j calls i directly or transitively (j is upstream of i)."""
        reach = self.adjacency.T.copy()
        for k in range(self.n):  # transitive closure; n is small
            reach |= reach[:, [k]] & reach[[k], :]
        return reach

    def path_to(self, target: int, prefer: np.ndarray) -> list[str]:
        """A call path from the entry (or a top caller) to `target`, through high-`prefer` services."""
        callers = np.flatnonzero(self.upstream[target])
        if callers.size == 0:
            return [self.names[target]]
        path = [target]
        while True:
            direct = np.flatnonzero(self.adjacency[:, path[0]])
            if direct.size == 0:
                break
            path.insert(0, int(direct[np.argmax(prefer[direct])]))
        return [self.names[i] for i in path]

    @classmethod
    def from_edges(cls, names: list[str], edges: set[tuple[int, int]]) -> "Graph":
        adjacency = np.zeros((len(names), len(names)), dtype=bool)
        for a, b in edges:
            if a != b:
                adjacency[a, b] = True
        roots = [i for i in range(len(names)) if not adjacency[:, i].any() and adjacency[i].any()]
        return cls(list(names), adjacency, np.zeros_like(adjacency), roots[0] if len(roots) == 1 else None)
