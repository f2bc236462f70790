"""The SimPy adapter: N replicas behind one router, driven by a workload.

* Each replica is a SimPy process around a :class:`~llm_la_lab.replica.ReplicaCore`: plan an
  iteration, wait its duration, apply it, tell the router.
* The router keeps a central queue ordered by the policy's :meth:`~llm_la_lab.policies.base.Policy.order`
  and offers its head to the policy on every arrival and whenever the load signals change.
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


class _Replica:
    def __init__(self, env: simpy.Environment, index: int, core: ReplicaCore,
                 on_change: Callable[[int, list], None]):
        self.env = env
        self.index = index
        self.core = core
        self.on_change = on_change
        self.idle = True
        self.wake = env.event()
        env.process(self._run())

    def submit(self, r: Request) -> None:
        if not self.core.add(r):
            r.finished = self.env.now
            self.on_change(self.index, [r])
            return
        if self.idle and not self.wake.triggered:
            self.wake.succeed()

    def _run(self):
        env, core = self.env, self.core
        while True:
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
        now = self.env.now
        self.signals = [r.core.signal(r.index, now) for r in self.replicas]
        if self.queue:
            self.dispatch()

    def current(self) -> list[LoadSignal]:
        if self.fresh:
            now = self.env.now
            signals = self.signals
            for i, s in enumerate(signals):
                if s is None:
                    signals[i] = self.replicas[i].core.signal(i, now)
        return self.signals  # type: ignore[return-value]

    def dispatch(self) -> None:
        queue, policy = self.queue, self.policy
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
    replicas = [_Replica(env, i, core, on_change) for i, core in enumerate(cores)]
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
            outstanding.append([c.outstanding_tokens for c in cores])
            kv.append([c.kv_util for c in cores])
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
                  sum(c.cache.queries for c in cores), sum(c.cache.hits for c in cores))
