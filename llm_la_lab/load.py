"""The load signal: everything a routing policy may know about a replica.

Policies never touch a replica; they see one :class:`LoadSignal` per eligible replica, measured at
`time` and possibly stale (the simulator refreshes them every ``refresh_s``; the live proxy polls
each backend's ``/load``). `version` changes whenever a new snapshot is taken, so a policy can tell
which of its own dispatches a snapshot cannot know about yet. `cached_prefix`, where a replica
offers it, answers "how much of this prompt do you have cached?" from the replica's own cache
(as llm-d's precise prefix scorer does from vLLM's KV-cache events); prefix-aware policies without
it keep their own approximate index of what they sent where.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional


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
    # Prompt tokens of a request the replica holds in its prefix cache (contiguous from the start),
    # read from the replica itself (llm-d's precise scorer, fed by KV-cache events); None if unknown.
    cached_prefix: Optional[Callable] = None
