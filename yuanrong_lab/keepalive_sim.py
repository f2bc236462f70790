"""Trace-scale keep-alive simulation (SimPy) through the live runtime's own classes.

Every function of a workload gets a :class:`~yuanrong_lab.pool.WarmPool` with a keep-alive policy
from the registry — the very objects the Ray runtime uses — and SimPy replays the invocations:
an arrival takes a warm slot or pays a cold start, the call runs for the function's duration, the
instance then idles under the policy's windows. Per policy we report what "Serverless in the
Wild" (ATC'20) plots: the cold-start percentage (overall and the 75th percentile across
functions) against the wasted idle memory-time (GB·s), as a Pareto plot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from yuanrong_lab.keepalive.base import POLICIES, KeepAliveConfig, make_policy
from yuanrong_lab.pool import WarmPool
from yuanrong_lab.workload import Workload


@dataclass
class Variant:
    label: str
    config: KeepAliveConfig


def default_variants(policies: list[str] | None = None) -> list[Variant]:
    """The sweep behind the Pareto plot: every `sweep()` variant of each policy named (default: the
    registry's defaults — fixed TTLs like OpenWhisk/AWS, hybrid-histogram ranges, none, and any
    plugin registered with ``default=True``)."""
    names = policies or POLICIES.defaults()
    variants = []
    for name in names:
        cls = POLICIES.get(name)  # an unknown name is a UserError listing the known ones
        for label, options in cls.sweep():
            variants.append(
                Variant(f"{name}-{label}" if label else name, KeepAliveConfig(policy=name, options=options))
            )
    return variants


@dataclass
class PolicyOutcome:
    policy: str
    invocations: int
    cold_starts: int
    cold_start_pct: float
    p75_function_cold_start_pct: float
    idle_memory_gb_s: float
    per_function_cold_pct: list[float] = field(repr=False)
    per_function: list[dict] = field(repr=False, default_factory=list)  # name, kind, invocations, cold_starts
    by_kind_cold_pct: dict[str, float] = field(default_factory=dict)


def simulate(workload: Workload, variant: Variant, cold_start_s: float = 0.5) -> PolicyOutcome:
    """Replay `workload` under one keep-alive variant; cold starts delay the call by `cold_start_s`."""
    import simpy

    env = simpy.Environment()
    pools = []
    for fn in workload.functions:
        pool = WarmPool(make_policy(variant.config), memory_gb=fn.memory_gb)  # one policy (state) per function
        pools.append(pool)
        env.process(_replay(env, pool, fn.arrivals, fn.duration_s, cold_start_s))
    env.run(until=workload.horizon_s)
    for pool in pools:
        pool.close(workload.horizon_s)
    invocations = np.array([p.invocations for p in pools])
    colds = np.array([p.cold_starts for p in pools])
    active = invocations > 0
    per_fn = 100.0 * colds[active] / invocations[active]
    kinds = np.array([fn.kind for fn in workload.functions])
    by_kind = {
        str(k): 100.0 * colds[kinds == k].sum() / max(1, invocations[kinds == k].sum()) for k in sorted(set(kinds))
    }
    return PolicyOutcome(
        policy=variant.label,
        invocations=int(invocations.sum()),
        cold_starts=int(colds.sum()),
        cold_start_pct=100.0 * colds.sum() / max(1, invocations.sum()),
        p75_function_cold_start_pct=float(np.percentile(per_fn, 75)) if per_fn.size else 0.0,
        idle_memory_gb_s=float(sum(p.idle_gb_s for p in pools)),
        per_function_cold_pct=per_fn.tolist(),
        per_function=[
            {
                "function": fn.name,
                "kind": fn.kind,
                "invocations": p.invocations,
                "cold_starts": p.cold_starts,
                "idle_memory_gb_s": p.idle_gb_s,
            }
            for fn, p in zip(workload.functions, pools)
        ],
        by_kind_cold_pct=by_kind,
    )


def _replay(env, pool: WarmPool, arrivals: np.ndarray, duration_s: float, cold_start_s: float):
    for t in arrivals:
        if t > env.now:
            yield env.timeout(t - env.now)
        now = env.now
        pool.tick(now)
        pool.arrive(now)
        inst = pool.acquire(now)
        busy = duration_s
        if inst is None:
            inst = pool.start(now)  # the simulated platform has no instance cap
            busy += cold_start_s
        done = env.timeout(busy)
        done.callbacks.append(lambda _event, pool=pool, iid=inst.id: pool.release(iid, env.now))


@dataclass
class KeepAliveResults:
    workload: str
    functions: int
    hours: float
    invocations: int
    seed: int
    policies: dict[str, dict]  # label → cold_start_pct, p75_function_cold_start_pct, idle_memory_gb_s, ...
    headline: dict
    pareto_overall: list[str] = field(default_factory=list)  # labels on the front (idle memory, cold %)
    pareto_per_function: list[str] = field(default_factory=list)  # ... (idle memory, p75 cold %)
    figures: list[str] = field(default_factory=list)

    # per-variant outcomes with their per-function rows, for the CSVs: an attribute, not a field,
    # so that results.json and --json stay small
    outcomes: ClassVar[list[PolicyOutcome]] = []


def run_keepalive(
    workload: Workload, seed: int, policies: list[str] | None = None, cold_start_s: float = 0.5
) -> KeepAliveResults:
    """Simulate every keep-alive variant of the sweep on `workload` (no files: see report.py)."""
    from sysai.progress import track

    variants = default_variants(policies)
    outcomes = [simulate(workload, v, cold_start_s) for v in track(variants, "keep-alive policies")]
    table = {
        o.policy: {
            "policy": v.config.policy,
            "options": v.config.options,
            "cold_start_pct": o.cold_start_pct,
            "p75_function_cold_start_pct": o.p75_function_cold_start_pct,
            "idle_memory_gb_s": o.idle_memory_gb_s,
            "invocations": o.invocations,
            "cold_starts": o.cold_starts,
            "cold_start_pct_by_kind": o.by_kind_cold_pct,
        }
        for o, v in zip(outcomes, variants)
    }
    results = KeepAliveResults(
        workload=workload.source,
        functions=len(workload.functions),
        hours=workload.horizon_s / 3600.0,
        invocations=workload.invocations,
        seed=seed,
        policies=table,
        headline=headline(table),
        pareto_overall=pareto_front(table, "cold_start_pct"),
        pareto_per_function=pareto_front(table, "p75_function_cold_start_pct"),
    )
    results.outcomes = outcomes
    return results


def pareto_front(table: dict[str, dict], metric: str) -> list[str]:
    """Variants no other variant beats on both idle memory-time and `metric` (lower is better)."""
    front = []
    for name, row in table.items():
        dominated = any(
            o["idle_memory_gb_s"] <= row["idle_memory_gb_s"]
            and o[metric] <= row[metric]
            and (o["idle_memory_gb_s"] < row["idle_memory_gb_s"] or o[metric] < row[metric])
            for other, o in table.items()
            if other != name
        )
        if not dominated:
            front.append(name)
    return sorted(front, key=lambda n: table[n]["idle_memory_gb_s"])


def headline(table: dict[str, dict]) -> dict:
    """Hybrid histogram (ATC'20) against a fixed TTL *at the same idle memory-time*.

    The fixed-TTL curve is interpolated (linearly, between the two sweep points that bracket the
    hybrid's idle memory-time) for both measures, so neither side gets more memory than the other:
    overall cold-start % (all calls pooled) and the p75 across functions of each function's own
    cold-start %. Empty when the sweep lacks either family or the hybrid lies outside the fixed range.
    """
    fixed = sorted((v["idle_memory_gb_s"], k) for k, v in table.items() if k.startswith("fixed-"))
    hybrid = [k for k in table if k.startswith("hybrid-histogram-")]
    if len(fixed) < 2 or not hybrid:
        return {}
    h_name = "hybrid-histogram-4h" if "hybrid-histogram-4h" in hybrid else hybrid[-1]
    h = table[h_name]
    memory = h["idle_memory_gb_s"]
    below = [k for m, k in fixed if m <= memory]
    above = [k for m, k in fixed if m >= memory]
    if not below or not above:
        return {}
    lo, hi = table[below[-1]], table[above[0]]
    span = hi["idle_memory_gb_s"] - lo["idle_memory_gb_s"]
    w = 0.0 if span <= 0 else (memory - lo["idle_memory_gb_s"]) / span
    at = lambda key: lo[key] + w * (hi[key] - lo[key])  # noqa: E731
    return {
        "hybrid": h_name,
        "hybrid_idle_memory_gb_s": memory,
        "fixed_between": [below[-1], above[0]],
        "hybrid_cold_pct": h["cold_start_pct"],
        "fixed_cold_pct_same_memory": at("cold_start_pct"),
        "hybrid_p75_cold_pct": h["p75_function_cold_start_pct"],
        "fixed_p75_cold_pct_same_memory": at("p75_function_cold_start_pct"),
    }
