"""A burst against one function, in SimPy, through the runtime's own WarmPool and Autoscaler.

The call path is the live runtime's: a free slot on a ready instance serves the call; else a
function at zero cold-starts an instance (the call rides on it), and so does burst mode when demand
jumps; otherwise the call waits. By default it waits as at the gateway (`Runtime.call_async`): in
one central queue, taken by the first slot that frees on a ready instance; with
``central_queue=False`` as in the Python API (`Runtime.submit`): behind one busy instance. A
ticker applies keep-alive expiries and the autoscaler's windowed decisions (demand = in flight +
queued) every 100 ms, like the runtime's thread; scale-ups start idle instances that take queued
calls once ready. We compare autoscaler settings on latency, instance starts and idle time.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from sysai.config import option
from sysai.errors import UserError
from sysai.seeding import rng
from yuanrong_lab.autoscaler import Autoscaler, AutoscalerConfig
from yuanrong_lab.keepalive.base import KeepAliveConfig, make_policy
from yuanrong_lab.pool import WarmPool

TICK_S = 0.1


@dataclass
class BurstScenario:
    base_rps: float = option(2.0, "steady arrival rate before and after the burst (calls/s)")
    burst_rps: float = option(40.0, "arrival rate during the burst (calls/s)")
    burst_start_s: float = option(20.0, "when the burst starts (s)")
    burst_s: float = option(10.0, "how long the burst lasts (s)")
    horizon_s: float = option(60.0, "simulated time (s)")
    duration_s: float = option(0.2, "execution time of one call (s)")
    cold_start_s: float = option(1.0, "time to start an instance (s)")
    keepalive_s: float = option(60.0, "fixed keep-alive of idle instances (s)")
    central_queue: bool = option(True, "the gateway's queue: a waiting call takes the first free slot on a ready "
                                       "instance (False: the Python API's, queued behind one busy instance)")

    def __post_init__(self) -> None:
        if min(self.base_rps, self.burst_rps, self.duration_s, self.horizon_s) <= 0 or self.cold_start_s < 0:
            raise UserError("burst scenario: rates, duration and horizon must be positive")


def arrivals(s: BurstScenario, seed: int) -> np.ndarray:
    """Poisson arrivals: `base_rps` all along plus `burst_rps` inside the burst window."""
    r = rng(seed, "yuanrong-burst")
    base = r.uniform(0, s.horizon_s, r.poisson(s.base_rps * s.horizon_s))
    end = min(s.horizon_s, s.burst_start_s + s.burst_s)
    burst = r.uniform(s.burst_start_s, end, r.poisson(s.burst_rps * max(0.0, end - s.burst_start_s)))
    return np.sort(np.concatenate([base, burst]))


def simulate_burst(s: BurstScenario, config: AutoscalerConfig, times: np.ndarray) -> dict[str, float]:
    import simpy

    env = simpy.Environment()
    pool = WarmPool(
        make_policy(KeepAliveConfig(policy="fixed", options={"ttl_s": s.keepalive_s})),
        concurrency=int(config.target_concurrency),
        min_instances=config.min_instances,
        max_instances=config.max_instances,
        memory_gb=1.0,
    )
    scaler = Autoscaler(config)
    slots: dict[int, simpy.Resource] = {}
    ready_at: dict[int, float] = {}
    latencies: list[float] = []
    peak = [0]
    waiting: deque[float] = deque()  # arrival times of calls in the central queue

    def load(iid: int, now: float) -> None:
        slots[iid] = simpy.Resource(env, capacity=pool.concurrency)
        ready_at[iid] = now + s.cold_start_s
        if s.central_queue:  # as in the runtime: only a ready instance takes queued calls
            pool.instances[iid].ready = False
            env.process(become_ready(iid))

    def become_ready(iid: int):
        yield env.timeout(s.cold_start_s)
        if iid in pool.instances:
            pool.instances[iid].ready = True
        dispatch()

    def dispatch() -> None:
        while waiting:
            inst = pool.acquire(env.now)
            if inst is None:
                return
            env.process(run(inst.id, waiting.popleft()))

    def run(iid: int, arrived: float):
        with slots[iid].request() as slot:
            yield slot
            if ready_at[iid] > env.now:
                yield env.timeout(ready_at[iid] - env.now)
            yield env.timeout(s.duration_s)
        pool.release(iid, env.now)
        latencies.append(env.now - arrived)
        dispatch()

    def ticker():
        while True:
            yield env.timeout(TICK_S)
            now = env.now
            pool.tick(now)
            n = len(pool.instances)
            wanted = scaler.decide(now, pool.in_flight + len(waiting), n)
            for _ in range(max(0, wanted - n)):
                inst = pool.add_idle(now)
                if inst is not None:
                    load(inst.id, now)
            if wanted < n:
                pool.trim(max(wanted, 1), now)
            peak[0] = max(peak[0], len(pool.instances))

    def source():
        for t in times:
            if t > env.now:
                yield env.timeout(t - env.now)
            now = env.now
            pool.tick(now)
            pool.arrive(now)
            inst = pool.acquire(now)
            if inst is None:
                demand = pool.in_flight + len(waiting) + 1
                if not pool.instances or (
                    config.burst and scaler.decide(now, demand, len(pool.instances)) > len(pool.instances)
                ):
                    inst = pool.start(now)
                    if inst is not None:
                        load(inst.id, now)
                if inst is None and s.central_queue:
                    waiting.append(now)
                    peak[0] = max(peak[0], len(pool.instances))
                    continue
                if inst is None:
                    inst = pool.overflow(now)
            peak[0] = max(peak[0], len(pool.instances))
            env.process(run(inst.id, now))

    env.process(ticker())
    env.process(source())
    env.run(until=s.horizon_s + 30.0)  # let the queue drain
    pool.close(env.now)
    lat = np.asarray(latencies)
    return {
        "calls": int(lat.size),
        "p50_ms": float(np.percentile(lat, 50) * 1e3),
        "p99_ms": float(np.percentile(lat, 99) * 1e3),
        "max_ms": float(lat.max() * 1e3),
        "cold_starts": pool.cold_starts,
        "instances_started": pool.started,
        "peak_instances": peak[0],
        "idle_instance_s": pool.idle_gb_s,
    }


def variants(max_instances: int) -> dict[str, AutoscalerConfig]:
    return {
        "window-1s (openYuanrong default)": AutoscalerConfig(max_instances=max_instances),
        "window-0.5s": AutoscalerConfig(scale_up_window_s=0.5, max_instances=max_instances),
        "window-3s": AutoscalerConfig(scale_up_window_s=3.0, max_instances=max_instances),
        "burst mode": AutoscalerConfig(burst=True, max_instances=max_instances),
    }
