"""The lab's experiments: each runs one and returns a results dataclass (no printing, no files).

* :func:`keepalive` — keep-alive policies at trace scale, simulated (SimPy, the live pool classes);
* :func:`autoscale` — autoscaler settings under a burst, simulated;
* the live Ray benchmark is :func:`yuanrong_lab.bench.run_bench` (``sysai yuanrong bench``).

Tables and figures from these results: :mod:`yuanrong_lab.report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sysai.errors import UserError
from yuanrong_lab.keepalive_sim import KeepAliveResults, run_keepalive

QUICK_FUNCTIONS, QUICK_HOURS = 60, 24.0


def keepalive(
    functions: int = 300,
    hours: float = 72.0,
    trace: Path | None = None,
    policies: list[str] | None = None,
    cold_start_s: float = 0.5,
    seed: int = 42,
    quick: bool = False,
) -> KeepAliveResults:
    """Every sweep variant of the named keep-alive policies (default: the registry's defaults)."""
    from yuanrong_lab.workload import generate, load_azure_csv

    if functions < 1 or hours <= 0:
        raise UserError(f"--functions must be >= 1 and --hours > 0 (got {functions}, {hours})")
    if cold_start_s < 0:
        raise UserError(f"--cold-start-s must be >= 0, got {cold_start_s}")
    if quick:
        functions, hours = min(functions, QUICK_FUNCTIONS), min(hours, QUICK_HOURS)
    workload = (
        load_azure_csv(trace, seed, hours=hours, limit=functions)
        if trace is not None
        else generate(functions, hours, seed)
    )
    return run_keepalive(workload, seed, policies, cold_start_s)


@dataclass
class AutoscaleResults:
    scenario: object
    seed: int
    variants: dict[str, dict[str, float]]  # setting → p50_ms, p99_ms, cold_starts, peak_instances, ...
    figures: list[str] = field(default_factory=list)


def autoscale(
    burst_rps: float = 40.0, max_instances: int = 20, seed: int = 42, quick: bool = False, central_queue: bool = True
) -> AutoscaleResults:
    """A burst against one function under each autoscaler setting of :func:`autoscale_sim.variants`."""
    from yuanrong_lab.autoscale_sim import BurstScenario, arrivals, simulate_burst, variants

    if max_instances < 1:
        raise UserError(f"--max-instances must be >= 1, got {max_instances}")
    scenario = BurstScenario(burst_rps=burst_rps, horizon_s=40.0 if quick else 60.0, central_queue=central_queue)
    times = arrivals(scenario, seed)
    outcome = {name: simulate_burst(scenario, cfg, times) for name, cfg in variants(max_instances).items()}
    return AutoscaleResults(scenario=scenario, seed=seed, variants=outcome)
