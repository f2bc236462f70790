"""Experiments: `compare` (policies side by side on one workload) and `sweep` points.

Both build the workload once, then simulate each policy on a fresh copy of the same requests,
with the same predictor guesses, so differences come from the policies alone.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sysai.errors import UserError
from sysai.timing import Timer

from llm_la_lab.capacity import saturation_rate
from llm_la_lab.cluster import Cluster, load_cluster
from llm_la_lab.latency import LatencyModel
from llm_la_lab.metrics import Slo, summarize
from llm_la_lab.policies.base import POLICIES, make_policy
from llm_la_lab.predictors.base import default_predictor, make_predictor
from llm_la_lab.replica import ReplicaConfig
from llm_la_lab.sim import SimRun, simulate
from llm_la_lab.workload import Workload, load_trace, synthetic



#: The policy every gain is measured against (the talk's and most routers' default).
BASELINE = "round_robin"


@dataclass
class Setup:
    """Everything a simulation point needs (picklable: it travels to Ray workers)."""

    trace: str | None = "conv"
    columns: str | None = None
    time_unit: str | None = None
    arrival: str = "poisson"
    cv: float = 2.0
    lengths: str = "conv"
    requests: int | None = 5000
    instances: int = 8
    load: float | None = 0.85
    rate: float | None = None
    predictor: str | None = None  # None: the registry's default (a realistic predictor, not the oracle)
    sigma: float = 0.5
    refresh_s: float = 0.0
    replica_spec: str | None = None  # --replica-config: preset, NAME*N list or YAML (see llm_la_lab.cluster)
    replica: ReplicaConfig | None = None  # or one config for every replica (wins over replica_spec)
    latency: LatencyModel | None = None  # latency model for every replica (default: the presets' own)
    slo: Slo = field(default_factory=Slo)
    seed: int = 42
    skip_ahead: bool = True  # simulate decode-only stretches in one event (same results as step by step)
    policy_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # policy -> its Config keys

    def check(self) -> None:
        if self.instances < 1:
            raise UserError(f"--instances must be at least 1, got {self.instances}")
        if self.load is not None and not 0 < self.load < math.inf:
            raise UserError(f"--load must be a positive fraction of capacity, got {self.load}")
        if self.rate is not None and not 0 < self.rate < math.inf:
            raise UserError(f"--rate must be a positive number of requests/s, got {self.rate}")
        if not 0 <= self.refresh_s < math.inf:
            raise UserError(f"--refresh must be ≥ 0 seconds, got {self.refresh_s}")

    @property
    def predictor_name(self) -> str:
        return self.predictor or default_predictor()

    def cluster(self) -> Cluster:
        if self.replica is not None:
            return Cluster((self.replica,) * self.instances, (self.latency or LatencyModel(),) * self.instances,
                           ("custom",) * self.instances)
        return load_cluster(self.replica_spec, self.instances, self.latency)


def make_setup(*, trace: str | None = "conv", columns: str | None = None, time_unit: str | None = None,
               arrival: str = "poisson", cv: float = 2.0, lengths: str = "conv", requests: int | None = None,
               instances: int = 8, load: float | None = None, rate: float | None = None,
               predictor: str | None = None, sigma: float = 0.5, refresh: float = 0.0,
               replica_config: str | None = None, latency: str | Path | None = None, slo_ttft: float = 2.0,
               slo_tpot: float = 0.1, seed: int = 42, quick: bool = False, assignments: list[str] | None = None,
               policy_config: str | Path | None = None, default_load: float = 0.85,
               default_requests: tuple[int, int] = (5000, 1500)) -> Setup:
    """A :class:`Setup` from command-line options, checked (every bad value is a one-line UserError)."""
    from llm_la_lab.latency import load_latency
    from llm_la_lab.policies.base import policy_options

    if load is not None and rate is not None:
        raise UserError("give --load or --rate, not both")
    if load is None and rate is None:
        load = default_load
    if requests is None:
        requests = default_requests[1] if quick else default_requests[0]
    make_predictor(predictor, seed, sigma)  # an unknown name or bad sigma fails now, not mid-run
    setup = Setup(
        trace=None if trace in (None, "none") else trace, columns=columns, time_unit=time_unit, arrival=arrival,
        cv=cv, lengths=lengths, requests=requests, instances=instances,
        load=None if rate is not None or load == 0 else load, rate=rate, predictor=predictor, sigma=sigma,
        refresh_s=refresh, replica_spec=replica_config, latency=None if latency is None else load_latency(latency),
        slo=Slo(slo_ttft, slo_tpot), seed=seed, policy_options=policy_options(assignments or [], policy_config))
    setup.check()
    setup.cluster()  # a bad --replica-config fails now
    return setup


def build_workload(setup: Setup) -> tuple[Workload, float, float]:
    """(workload at the requested rate, its rate in req/s, the cluster's saturation rate)."""
    setup.check()
    if setup.trace:
        base = load_trace(setup.trace, setup.columns, setup.time_unit).head(setup.requests)
    else:
        base = synthetic(setup.requests or 5000, 1.0, setup.seed, setup.arrival, setup.cv, setup.lengths)
    cluster = setup.cluster()
    capacity = sum(saturation_rate(base.prompt, base.output, 1, c, m)
                   for c, m in zip(cluster.configs, cluster.latencies))
    if setup.rate is not None:
        workload = base.at_rate(setup.rate)
    elif setup.load is not None:
        workload = base.at_rate(setup.load * capacity)
    elif setup.trace:
        workload = base
    else:
        raise UserError("a synthetic workload needs --load or --rate")
    return workload, workload.rate, capacity


def run_policy(setup: Setup, workload: Workload, policy: str) -> tuple[dict[str, Any], SimRun]:
    requests = workload.requests()
    predictor = make_predictor(setup.predictor_name, setup.seed, setup.sigma)
    predictor.fit(workload.prompt, workload.output)
    cluster = setup.cluster()
    run = simulate(requests, make_policy(policy, setup.seed, setup.policy_options.get(policy)), predictor,
                   setup.instances, list(cluster.configs), list(cluster.latencies), setup.refresh_s,
                   skip_ahead=setup.skip_ahead)
    summary = summarize(requests, setup.slo, run.preemptions, run.outstanding, run.kv_util,
                        (run.prefix_queries, run.prefix_hits))
    summary["requests_per_replica"] = run.per_replica_requests
    return summary, run


def check_policies(names: list[str] | None) -> list[str]:
    """The policies to run: `names`, or the registry's defaults when None/empty."""
    if not names:
        names = sorted(POLICIES.defaults(), key=lambda n: n != BASELINE)  # the baseline first, then by name
    for name in names:
        POLICIES.get(name)
    return names


@dataclass
class CompareResults:
    requests: int
    sim_wall_s: float
    workload: str
    instances: int
    rate_rps: float
    load: float
    capacity_rps: float
    predictor: str
    refresh_s: float
    seed: int
    policies: dict[str, dict[str, Any]]
    sim_wall_s_per_policy: dict[str, float]
    policy_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    cluster: str = ""
    files: list[Path] = field(default_factory=list)


def compare(setup: Setup, policies: list[str] | None = None, out: Path | None = None) -> CompareResults:
    """Every policy (default: the registry's defaults) on the same workload, with the same predictions."""
    policies = check_policies(policies)
    workload, rate, capacity = build_workload(setup)
    summaries: dict[str, dict[str, Any]] = {}
    walls: dict[str, float] = {}
    runs: dict[str, SimRun] = {}
    with Timer() as total:
        for name in check_policies(policies):
            with Timer() as timer:
                summaries[name], runs[name] = run_policy(setup, workload, name)
            walls[name] = timer.elapsed
    results = CompareResults(len(workload), total.elapsed, workload.name, setup.instances, rate, rate / capacity,
                             capacity, setup.predictor_name, setup.refresh_s, setup.seed, summaries, walls,
                             resolved_options(setup, policies), setup.cluster().label)
    if out is not None:
        from llm_la_lab.plots import compare_figures, write_request_csv

        results.files = [write_request_csv(out / "requests.csv", runs),
                         *compare_figures(out, runs, setup.predictor_name)]
    return results


def resolved_options(setup: Setup, policies: list[str]) -> dict[str, dict[str, Any]]:
    """Every option of every policy that has any, defaults included (recorded in results.json)."""
    configs = {name: make_policy(name, setup.seed, setup.policy_options.get(name)).config for name in policies}
    return {name: dataclasses.asdict(config) for name, config in configs.items() if config is not None}


def sweep_point(setup: Setup, policy: str) -> dict[str, Any]:
    """One point of a sweep (runs on a Ray worker)."""
    workload, rate, capacity = build_workload(setup)
    with Timer() as timer:
        summary, _ = run_policy(setup, workload, policy)
    summary.update(policy=policy, load=rate / capacity, rate_rps=rate, refresh_s=setup.refresh_s,
                   sigma=setup.sigma, predictor=setup.predictor_name, wall_s=timer.elapsed)
    return summary


def gain(results: dict[str, dict[str, Any]], policy: str, metric: str, baseline: str = BASELINE) -> float:
    """Relative change of `metric` against `baseline` (negative = better for latencies)."""
    base = results[baseline][metric]
    return float(results[policy][metric] / base - 1) if base else float("nan")
