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
from pathlib import Path

import numpy as np

from sysai.plotting import color, figure
from yuanrong_lab.keepalive.base import POLICIES, KeepAliveConfig, make_policy
from yuanrong_lab.pool import WarmPool
from yuanrong_lab.workload import Workload


@dataclass
class Variant:
    label: str
    config: KeepAliveConfig


def default_variants(policies: list[str] | None = None) -> list[Variant]:
    """The sweep behind the Pareto plot: fixed TTLs like OpenWhisk/AWS and hybrid histogram ranges."""
    variants = [Variant("none", KeepAliveConfig(policy="none"))]
    variants += [Variant(f"fixed-{m}min", KeepAliveConfig(policy="fixed", ttl_s=m * 60.0)) for m in (5, 10, 20, 60, 120)]
    variants += [Variant(f"hybrid-{h}h", KeepAliveConfig(policy="hybrid-histogram", range_s=h * 3600.0)) for h in (1, 2, 4)]
    if policies:
        for name in policies:
            POLICIES.get(name)  # an unknown name is a UserError listing the known ones
        built_in = {v.config.policy for v in variants}
        variants = [v for v in variants if v.config.policy in policies]
        variants += [Variant(name, KeepAliveConfig(policy=name)) for name in policies if name not in built_in]
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
    by_kind = {str(k): 100.0 * colds[kinds == k].sum() / max(1, invocations[kinds == k].sum()) for k in sorted(set(kinds))}
    return PolicyOutcome(
        policy=variant.label,
        invocations=int(invocations.sum()),
        cold_starts=int(colds.sum()),
        cold_start_pct=100.0 * colds.sum() / max(1, invocations.sum()),
        p75_function_cold_start_pct=float(np.percentile(per_fn, 75)) if per_fn.size else 0.0,
        idle_memory_gb_s=float(sum(p.idle_gb_s for p in pools)),
        per_function_cold_pct=per_fn.tolist(),
        per_function=[{"function": fn.name, "kind": fn.kind, "invocations": p.invocations, "cold_starts": p.cold_starts,
                       "idle_memory_gb_s": p.idle_gb_s} for fn, p in zip(workload.functions, pools)],
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


def pareto_figure(outcomes: list[PolicyOutcome], path: Path, reference: str = "fixed-10min") -> Path:
    """p75 per-function cold-start % against idle memory-time normalised to `reference` (ATC'20 Fig. 15 style)."""
    base = next((o.idle_memory_gb_s for o in outcomes if o.policy == reference), None) or max(
        max(o.idle_memory_gb_s for o in outcomes), 1e-9)
    families = sorted({o.policy.split("-")[0] for o in outcomes})
    with figure(path, title="Keep-alive: cold starts vs wasted memory",
                xlabel=f"idle memory-time (% of {reference})" if any(o.policy == reference for o in outcomes)
                else "idle memory-time (% of max)", ylabel="p75 function cold-start %") as ax:
        for i, family in enumerate(families):
            points = sorted((100 * o.idle_memory_gb_s / base, o.p75_function_cold_start_pct, o.policy)
                            for o in outcomes if o.policy.split("-")[0] == family)
            xs, ys, labels = zip(*points)
            ax.plot(xs, ys, marker="os^D"[i % 4], color=color(i), label=family)
            for x, y, label in points:
                ax.annotate(label.split("-", 1)[-1], (x, y), textcoords="offset points", xytext=(4, 4), fontsize=9)
    return path


@dataclass
class KeepAliveResults:
    workload: str
    functions: int
    hours: float
    invocations: int
    seed: int
    policies: dict[str, dict[str, float]]
    headline: dict[str, float]
    figures: list[str]


def run_keepalive(workload: Workload, seed: int, out: Path, policies: list[str] | None = None,
                  cold_start_s: float = 0.5) -> KeepAliveResults:
    """Simulate every keep-alive variant on `workload`; write the CSVs and the Pareto plot."""
    from sysai.progress import track
    from sysai.results import write_csv

    variants = default_variants(policies)
    outcomes = [simulate(workload, v, cold_start_s) for v in track(variants, "keep-alive policies")]
    table = {o.policy: {"cold_start_pct": o.cold_start_pct,
                        "p75_function_cold_start_pct": o.p75_function_cold_start_pct,
                        "idle_memory_gb_s": o.idle_memory_gb_s,
                        "invocations": o.invocations, "cold_starts": o.cold_starts,
                        "cold_start_pct_by_kind": o.by_kind_cold_pct} for o in outcomes}
    write_csv(out / "policies.csv", [{"policy": name, **{k: v for k, v in row.items() if k != "cold_start_pct_by_kind"}}
                                     for name, row in table.items()])
    write_csv(out / "functions.csv", [{"policy": o.policy, **row} for o in outcomes for row in o.per_function])
    figure_path = pareto_figure(outcomes, out / "keepalive_pareto.png")
    return KeepAliveResults(
        workload=workload.source, functions=len(workload.functions), hours=workload.horizon_s / 3600.0,
        invocations=workload.invocations, seed=seed, policies=table, headline=headline(table),
        figures=[str(figure_path)],
    )


def headline(table: dict[str, dict[str, float]]) -> dict[str, float]:
    """Hybrid histogram against the fixed TTL with the closest idle memory-time (ATC'20's comparison)."""
    fixed = {k: v for k, v in table.items() if k.startswith("fixed")}
    hybrid = {k: v for k, v in table.items() if k.startswith("hybrid")}
    if not fixed or not hybrid:
        return {}
    h_name = "hybrid-4h" if "hybrid-4h" in hybrid else sorted(hybrid)[-1]
    h = hybrid[h_name]
    f_name = min(fixed, key=lambda k: abs(fixed[k]["idle_memory_gb_s"] - h["idle_memory_gb_s"]))
    f = fixed[f_name]
    return {
        "hybrid": h_name, "fixed_at_similar_memory": f_name,
        "hybrid_p75_cold_pct": h["p75_function_cold_start_pct"], "fixed_p75_cold_pct": f["p75_function_cold_start_pct"],
        "hybrid_cold_pct": h["cold_start_pct"], "fixed_cold_pct": f["cold_start_pct"],
        "memory_ratio_hybrid_over_fixed": h["idle_memory_gb_s"] / max(f["idle_memory_gb_s"], 1e-9),
    }
