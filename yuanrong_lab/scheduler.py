"""Two-level scheduling (pure): a per-node local scheduler first, a global scheduler when it is full.

openYuanrong's function system (the talk's "dynamic scheduling") runs a scheduler on every node:
a call arriving at a node is placed there if it can be — on a warm instance of the function, and
preferably on the node that already holds the call's argument objects, so that 10–100 MB of
intermediate data need not cross the network — and only a call the node cannot take is handed
up to the global scheduler, which sees the whole cluster. Ray's own actors know nothing of this:
a call goes to whichever instance a node-blind pool picks, and its arguments follow it.

Both rules here only choose; the live experiment (:mod:`yuanrong_lab.placement`) runs the calls.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    """One instance of the function as the schedulers see it."""

    instance: int
    node: str
    free: bool  # can take one more call now


def local_choice(arg_bytes: dict[str, int], caller_node: str, slots: list[Slot]) -> int | None:
    """The local scheduler's rule: the instance to run the call on, or None to hand it up.

    Candidate nodes, in order: the node holding the most bytes of the call's arguments (ties: the
    caller's node first, then by node name), then the caller's own node. On the first candidate
    node with a free instance, take its free instance with the smallest id. If neither node has a
    free instance, return None: the call goes to the global scheduler. A node holding no argument
    bytes is never a data candidate (a call without arguments is placed on the caller's node).
    """
    # BEGIN SOLUTION task3_5
    holders = sorted(
        (node for node, size in arg_bytes.items() if size > 0),
        key=lambda node: (-arg_bytes[node], node != caller_node, node),
    )
    candidates = holders[:1] + [caller_node]
    for node in candidates:
        free = [s.instance for s in slots if s.node == node and s.free]
        if free:
            return min(free)
    return None
    # END SOLUTION


def global_choice(slots: list[Slot]) -> int | None:
    """The global scheduler: a free instance on the node with the most free instances (spreads
    load); ties by node name, then the smallest instance id. None: every instance is busy."""
    free = [s for s in slots if s.free]
    if not free:
        return None
    per_node: dict[str, int] = {}
    for s in free:
        per_node[s.node] = per_node.get(s.node, 0) + 1
    best = min(free, key=lambda s: (-per_node[s.node], s.node, s.instance))
    return best.instance


def two_level(arg_bytes: dict[str, int], caller_node: str, slots: list[Slot]) -> tuple[int | None, str]:
    """(instance, which level chose it): "local", "global", or (None, "queued")."""
    choice = local_choice(arg_bytes, caller_node, slots)
    if choice is not None:
        return choice, "local"
    choice = global_choice(slots)
    return (choice, "global") if choice is not None else (None, "queued")
