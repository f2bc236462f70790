"""The warm pool of one function: which instance serves a call, when is it a cold start, and
when does an idle instance go (pure bookkeeping; the live runtime and the simulation both use it).

An *instance* is one loaded copy of the function (a Ray actor in the live runtime) that can run
`concurrency` calls at once. A call that finds a free slot on a loaded instance is *warm*; one that
does not needs a new instance first — a *cold start* (openYuanrong: "instance scheduling"; AWS
Lambda: "init"). Idle loaded instances cost memory; the keep-alive policy decides how long they
stay, and the pool accounts their idle memory-time (GB·s), the cost side of the ATC'20 trade-off.

Every method takes the time as an argument: no clock is read here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from yuanrong_lab.keepalive.base import KeepAlivePolicy, Windows


@dataclass
class Instance:
    id: int
    in_flight: int = 0
    idle_since: float | None = None  # None while it runs at least one call
    expires_at: float = math.inf
    ready: bool = True  # False while a live instance is still starting (its actor not up yet)

    @property
    def idle(self) -> bool:
        return self.in_flight == 0


@dataclass
class TickResult:
    loaded: list[int] = field(default_factory=list)  # new idle instances to create (pre-warm, min)
    reclaimed: list[int] = field(default_factory=list)  # idle instances to stop


class WarmPool:
    def __init__(
        self,
        policy: KeepAlivePolicy,
        *,
        concurrency: int = 1,
        min_instances: int = 0,
        max_instances: float = math.inf,
        memory_gb: float = 0.125,
    ):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.policy = policy
        self.concurrency = concurrency
        self.min_instances = min_instances
        self.max_instances = max_instances
        self.memory_gb = memory_gb
        self.instances: dict[int, Instance] = {}
        self.windows = Windows(prewarm_s=0.0, keepalive_s=0.0)
        self.pending_prewarm: tuple[float, float] | None = None  # (load at, keep until)
        self.invocations = 0
        self.cold_starts = 0
        self.idle_gb_s = 0.0
        self._next_id = 0

    # --- calls ---------------------------------------------------------------------------------
    def arrive(self, now: float) -> None:
        """An invocation arrives: the policy learns from it and sets the windows for its end."""
        self.invocations += 1
        self.windows = self.policy.on_invocation(now)
        self.pending_prewarm = None  # the call came before the pre-warm: the new windows decide

    def acquire(self, now: float) -> Instance | None:
        """Take a slot on a loaded instance (a warm start), or None when every slot is taken.

        Only a *ready* instance is a candidate (one still starting would make the call wait for
        its start, which is not a warm start). Among the ready instances with a free slot
        (``in_flight < concurrency``), prefer the busiest, then the most recently used idle one
        (largest ``idle_since``): packing calls lets the other instances age out and be reclaimed.
        The chosen instance's idle time ends now: account it (``_account_idle``), then it runs one
        more call, is not idle and does not expire.
        """
        # BEGIN SOLUTION task3_4
        best: Instance | None = None
        for inst in self.instances.values():
            if not inst.ready or inst.in_flight >= self.concurrency:
                continue
            if best is None or (inst.in_flight, inst.idle_since or 0.0) > (best.in_flight, best.idle_since or 0.0):
                best = inst
        if best is None:
            return None
        if best.idle:
            self._account_idle(best, now)
        best.in_flight += 1
        best.idle_since = None
        best.expires_at = math.inf
        return best
        # END SOLUTION

    def start(self, now: float) -> Instance | None:
        """A cold start: a new instance already running this call; None at max_instances."""
        if len(self.instances) >= self.max_instances:
            return None
        self.cold_starts += 1
        inst = self._new(now)
        inst.in_flight, inst.idle_since = 1, None
        return inst

    def free_slots(self) -> int:
        """Free call slots on ready instances."""
        return sum(
            self.concurrency - i.in_flight
            for i in self.instances.values()
            if i.ready and i.in_flight < self.concurrency
        )

    def overflow(self, now: float) -> Instance | None:
        """Queue the call behind the least-loaded instance (no slot free, no new instance now)."""
        if not self.instances:
            return None
        inst = min(self.instances.values(), key=lambda i: i.in_flight)
        if inst.idle:
            self._account_idle(inst, now)
        inst.in_flight += 1
        inst.idle_since, inst.expires_at = None, math.inf
        return inst

    def release(self, instance_id: int, now: float) -> None:
        """A call on `instance_id` ended at `now`; an instance going idle gets the windows."""
        inst = self.instances.get(instance_id)
        if inst is None:  # reclaimed meanwhile (killed on timeout, node lost)
            return
        inst.in_flight -= 1
        if inst.in_flight > 0:
            return
        inst.idle_since = now
        if self.windows.prewarm_s > 0:
            # unload now, load again just before the next call is expected
            inst.expires_at = now
            self.pending_prewarm = (
                now + self.windows.prewarm_s,
                now + self.windows.prewarm_s + self.windows.keepalive_s,
            )
        else:
            inst.expires_at = now + self.windows.keepalive_s

    # --- time passing ------------------------------------------------------------------------------
    def tick(self, now: float) -> TickResult:
        """Apply everything due by `now`: pre-warm loads, expiries, the min_instances floor."""
        result = TickResult()
        self._expire(now, result)
        if self.pending_prewarm is not None and self.pending_prewarm[0] <= now:
            load_at, until = self.pending_prewarm
            self.pending_prewarm = None
            if not any(i.idle for i in self.instances.values()):
                inst = self._new(load_at)
                inst.expires_at = until
                result.loaded.append(inst.id)
                self._expire(now, result)  # a pre-warm window may also have passed already
        while len(self.instances) < self.min_instances:
            result.loaded.append(self._new(now).id)
        return result

    def _expire(self, now: float, result: TickResult) -> None:
        for inst in sorted(self.instances.values(), key=lambda i: i.expires_at):
            if len(self.instances) <= self.min_instances or inst.expires_at > now:
                break
            if inst.idle:
                self._remove(inst, inst.expires_at)
                result.reclaimed.append(inst.id)

    def trim(self, keep: int, now: float) -> list[int]:
        """Reclaim idle instances, least recently used first, until at most `keep` remain."""
        gone = []
        idle = sorted((i for i in self.instances.values() if i.idle), key=lambda i: i.idle_since or 0.0)
        for inst in idle:
            if len(self.instances) <= max(keep, self.min_instances):
                break
            self._remove(inst, now)
            gone.append(inst.id)
        return gone

    def add_idle(self, now: float) -> Instance | None:
        """Load one more idle instance ahead of demand (autoscaler scale-up); None at max."""
        if len(self.instances) >= self.max_instances:
            return None
        inst = self._new(now)
        inst.expires_at = now + max(self.windows.keepalive_s, 0.0)
        return inst

    def forget(self, instance_id: int, now: float) -> None:
        """Drop an instance that died or was killed (its idle time is accounted)."""
        inst = self.instances.get(instance_id)
        if inst is not None:
            self._remove(inst, now)

    def close(self, now: float) -> None:
        """End of the run: account the idle time of every instance still loaded."""
        self.tick(now)
        for inst in list(self.instances.values()):
            self._remove(inst, min(now, inst.expires_at))

    # --- state ---------------------------------------------------------------------------------
    @property
    def started(self) -> int:
        """Instances ever loaded: cold starts, pre-warms and autoscaler scale-ups."""
        return self._next_id

    @property
    def in_flight(self) -> int:
        return sum(i.in_flight for i in self.instances.values())

    def idle_gb_s_at(self, now: float) -> float:
        """Idle memory-time so far, counting the instances idle right now up to `now`."""
        open_ = sum(
            max(0.0, min(now, i.expires_at) - i.idle_since)
            for i in self.instances.values()
            if i.idle and i.idle_since is not None
        )
        return self.idle_gb_s + open_ * self.memory_gb

    def _new(self, now: float) -> Instance:
        inst = Instance(self._next_id, idle_since=now)
        self._next_id += 1
        self.instances[inst.id] = inst
        return inst

    def _account_idle(self, inst: Instance, until: float) -> None:
        if inst.idle and inst.idle_since is not None:
            self.idle_gb_s += max(0.0, until - inst.idle_since) * self.memory_gb

    def _remove(self, inst: Instance, at: float) -> None:
        self._account_idle(inst, at)
        del self.instances[inst.id]
