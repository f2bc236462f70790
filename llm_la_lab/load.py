"""The load signal: everything a routing policy may know about a replica.

Policies never touch a replica; they see one :class:`LoadSignal` per eligible replica, measured at
`time` and possibly stale (the simulator refreshes them every ``refresh_s``; the live proxy polls
each backend's ``/load``). `version` changes whenever a new snapshot is taken, so a policy can tell
which of its own dispatches a snapshot cannot know about yet. `prefix_cache`, where a replica
offers it, tells which prefix blocks the replica holds (as llm-d's precise prefix scorer learns
from vLLM's KV-cache events); prefix-aware policies without it keep their own approximate index
of what they sent where (:class:`llm_la_lab.scorers.ApproxIndex`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Container, Optional


@dataclass(slots=True)
class LoadSignal:
    replica: int  # the id a policy returns to choose this replica
    version: int  # new value for every new snapshot of this replica
    time: float  # when it was measured
    requests: int  # outstanding requests: waiting + being prefilled + decoding
    waiting: int  # queued at the replica, not yet scheduled
    outstanding_tokens: int  # remaining prefill tokens + predicted remaining decode tokens
    kv_util: float  # fraction of KV-cache blocks in use
    kv_tokens: int  # KV-cache size in tokens
    capacity: int  # most requests the replica runs at once (max batch size)
    # The prefix-cache keys the replica holds (a live read-only view: `key in prefix_cache`), as
    # llm-d's precise scorer learns them from vLLM's KV-cache events; None if the replica does not tell.
    prefix_cache: Optional[Container[int]] = None
