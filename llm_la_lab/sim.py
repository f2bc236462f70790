"""The SimPy adapter: N replicas behind one router, driven by a workload.

* Each replica is a SimPy process around a :class:`~llm_la_lab.replica.ReplicaCore`: plan an
  iteration, wait its duration, apply it, tell the router.
* The router keeps a central queue ordered by the policy's :meth:`~llm_la_lab.policies.base.Policy.order`
  and offers its head to the policy on every arrival and whenever the load signals change.
* **Skip-ahead** (``skip_ahead=True``): while the router holds nothing, a replica with only
  decode work waits once for its whole stretch of steps up to the next finish
  (:meth:`ReplicaCore.begin_stretch`); anything that looks at it meanwhile syncs it to the moment,
  and a new request cuts the stretch at the step in flight. Same numbers as step by step.
* Load signals are **fresh** (``refresh_s = 0``: re-read whenever a replica's state changes) or
  **stale**: a snapshot of every replica taken every ``refresh_s`` seconds — like a router that
  scrapes its backends' metrics periodically.
* A sampler records each replica's true outstanding tokens and KV use for the imbalance metrics.
* A request a replica cannot take (longer than its ``max_model_len``) is **rejected** there, as
  vLLM answers 400; it is counted, never aborts the run. Policies hear of every finished or
  rejected request (:meth:`Policy.completed`), so a pull policy can keep exact local counts.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import simpy

from sysai.errors import UserError

from llm_la_lab.latency import LatencyModel
from llm_la_lab.load import LoadSignal
from llm_la_lab.policies.base import Policy
from llm_la_lab.predictors.base import Predictor
from llm_la_lab.replica import ReplicaConfig, ReplicaCore
from llm_la_lab.request import Request


@dataclass
class SimRun:
    requests: list[Request]
    duration_s: float  # simulated seconds until the last request finished
    sample_times: np.ndarray
    outstanding: np.ndarray  # samples × replicas: true outstanding tokens
    kv_util: np.ndarray  # samples × replicas
    preemptions: int
    per_replica_requests: list[int] = field(default_factory=list)
    rejected: int = 0
    prefix_queries: int = 0  # prompt tokens looked up in the replicas' prefix caches
    prefix_hits: int = 0  # of which were cached
    stretches: int = 0  # skip-ahead stretches (0 when simulated step by step)
    evictions: int = 0  # prefix-cache entries evicted


class _Replica:
    def __init__(self, env: simpy.Environment, index: int, core: ReplicaCore,
                 on_change: Callable[[int, list], None], may_skip: Callable[[], bool] | None = None):
        self.env = env
        self.index = index
        self.core = core
        self.on_change = on_change
        self.may_skip = may_skip  # None: step by step
        self.idle = True
        self.stretching = False
        self.wake = env.event()
        self.process = env.process(self._run())

    def sync(self) -> ReplicaCore:
        """The core, brought up to now if it is inside a skip-ahead stretch."""
        if self.stretching:
            self.core.sync(self.env.now)
        return self.core

    def signal(self) -> LoadSignal:
        return self.sync().signal(self.index, self.env.now)

    def cut(self) -> None:
        """Back to step by step at the end of the step in flight (something may now change the batch)."""
        if self.stretching and self.core.cut(self.env.now):
            self.process.interrupt()

    def submit(self, r: Request) -> None:
        self.cut()
        if not self.core.add(r):
            r.finished = self.env.now
            self.on_change(self.index, [r])
            return
        if self.idle and not self.wake.triggered:
            self.wake.succeed()

    def _run(self):
        env, core = self.env, self.core
        while True:
            if self.may_skip is not None and self.may_skip() and core.begin_stretch(env.now):
                self.stretching = True
                while True:
                    try:
                        yield env.timeout(core.stretch[-1] - env.now)
                        break
                    except simpy.Interrupt:
                        continue  # cut short: wait for the step in flight
                core.sync(env.now)
                self.stretching = False
                done = core.complete(env.now)
                core.end_stretch()
                self.on_change(self.index, done)
                continue
            duration = core.plan(env.now)
            if duration is None:
                self.idle = True
                yield self.wake
                self.wake = env.event()
                self.idle = False
                continue
            yield env.timeout(duration)
            self.on_change(self.index, core.complete(env.now))


class _Router:
    def __init__(self, env: simpy.Environment, replicas: list[_Replica], policy: Policy, refresh_s: float):
        self.env = env
        self.replicas = replicas
        self.policy = policy
        self.queue: list[tuple[float, float, int, Request]] = []
        self.fresh = refresh_s <= 0
        self.signals: list[LoadSignal | None] = [r.core.signal(r.index, 0.0) for r in replicas]

    def arrive(self, r: Request) -> None:
        heapq.heappush(self.queue, (self.policy.order(r), r.arrival, r.id, r))
        self.dispatch()
        if self.queue:  # a held request: every step end may now release it, so no replica skips ahead
            for replica in self.replicas:
                replica.cut()

    def changed(self, index: int, done: list[Request]) -> None:
        for r in done:
            self.policy.completed(r, index)
        if self.fresh:
            self.signals[index] = None
            if self.queue:
                self.dispatch()
        elif done and self.queue:
            self.dispatch()  # a completion is news the router has first hand, whatever the signals' age

    def refresh(self) -> None:
        self.signals = [r.signal() for r in self.replicas]
        if self.queue:
            self.dispatch()

    def current(self) -> list[LoadSignal]:
        if self.fresh:
            signals = self.signals
            for i, s in enumerate(signals):
                replica = self.replicas[i]
                if s is None or replica.stretching:  # step by step, every step end would have invalidated it
                    signals[i] = replica.signal()
        return self.signals  # type: ignore[return-value]

    def dispatch(self) -> None:
        queue, policy = self.queue, self.policy
        for replica in self.replicas:
            replica.sync()  # policies may read live views (prefix caches) even of stale signals
        while queue:
            r = queue[0][3]
            choice = policy.choose(r, self.current())
            if choice is None:
                return
            if not 0 <= choice < len(self.replicas):
                raise UserError(f"policy {type(policy).__name__} chose replica {choice!r}, which it was not offered")
            heapq.heappop(queue)
            r.dispatched = self.env.now
            r.replica = choice
            self.replicas[choice].submit(r)
            if self.fresh:
                self.signals[choice] = None


def simulate(
    requests: list[Request],
    policy: Policy,
    predictor: Predictor,
    instances: int,
    config: ReplicaConfig | list[ReplicaConfig] | None = None,
    latency: LatencyModel | list[LatencyModel] | None = None,
    refresh_s: float = 0.0,
    sample_s: float | None = None,
    skip_ahead: bool = True,
) -> SimRun:
    """Run `requests` (fresh, unstarted objects) through `instances` replicas routed by `policy`.

    `config` and `latency` are one for all replicas or a list with one per replica (a heterogeneous
    cluster, e.g. four A100s and four H100s).
    """
    env = simpy.Environment()
    n = len(requests)
    finished = [0]
    all_done = env.event()

    def on_change(index: int, done: list) -> None:
        if done:
            finished[0] += len(done)
            if finished[0] == n and not all_done.triggered:
                all_done.succeed()
        router.changed(index, done)

    configs = config if isinstance(config, list) else [config] * instances
    latencies = latency if isinstance(latency, list) else [latency] * instances
    if len(configs) != instances or len(latencies) != instances:
        raise UserError(f"{len(configs)} replica configs and {len(latencies)} latency models for {instances} instances")
    cores = [ReplicaCore(c, m) for c, m in zip(configs, latencies)]
    may_skip = (lambda: not router.queue) if skip_ahead else None
    replicas = [_Replica(env, i, core, on_change, may_skip) for i, core in enumerate(cores)]
    router = _Router(env, replicas, policy, refresh_s)
    for r in requests:
        r.predicted = predictor.predict(r)
    span = requests[-1].arrival - requests[0].arrival if n > 1 else 1.0
    sample_s = sample_s or max(span / 400, 0.05)
    times: list[float] = []
    outstanding: list[list[int]] = []
    kv: list[list[float]] = []

    def arrivals():
        now = 0.0
        for r in requests:
            if r.arrival > now:
                yield env.timeout(r.arrival - now)
                now = r.arrival
            router.arrive(r)

    def sampler():
        while not all_done.triggered:
            times.append(env.now)
            synced = [r.sync() for r in replicas]
            outstanding.append([c.outstanding_tokens for c in synced])
            kv.append([c.kv_util for c in synced])
            yield env.timeout(sample_s)

    def refresher():
        while not all_done.triggered:
            yield env.timeout(refresh_s)
            router.refresh()

    env.process(arrivals())
    env.process(sampler())
    if refresh_s > 0:
        env.process(refresher())
    env.run(until=all_done)
    counts = [0] * instances
    for r in requests:
        counts[r.replica] += 1
    return SimRun(requests, env.now, np.asarray(times), np.asarray(outstanding, dtype=float), np.asarray(kv),
                  sum(c.preemptions for c in cores), counts, sum(c.rejected for c in cores),
                  sum(c.cache.queries for c in cores), sum(c.cache.hits for c in cores),
                  sum(c.stretches for c in cores), sum(c.cache.evicted for c in cores))
