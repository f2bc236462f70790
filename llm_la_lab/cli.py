"""`sysai llm-la ...`: compare, sweep, bench (simulator); serve-engines, proxy, replay (live).

Heavy imports (simpy, numpy experiments, ray, aiohttp, matplotlib) happen inside the commands so
``sysai --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from sysai.errors import UserError
from sysai.options import DEFAULT_SEED, Json, Out, Quick, Seed

LAB = "llm-la"
app = typer.Typer(no_args_is_help=True, add_completion=False)

Trace = Annotated[Optional[str], typer.Option("--trace", help="Trace: 'conv', 'code' (bundled Azure 2023) or a CSV/JSONL file; 'none' for synthetic.")]
Columns = Annotated[Optional[str], typer.Option("--columns", help="Column mapping, e.g. arrival=TIMESTAMP,input=ContextTokens,output=GeneratedTokens.")]
TimeUnit = Annotated[str, typer.Option("--time-unit", help="Unit of numeric arrival times: s or ms.")]
Policies = Annotated[str, typer.Option("--policies", help="Comma-separated policy names (see `sysai llm-la policies`).")]
Instances = Annotated[int, typer.Option("--instances", help="Number of replicas.")]
Load = Annotated[Optional[float], typer.Option("--load", help="Offered load ρ: fraction of the cluster's saturation throughput.")]
Rate = Annotated[Optional[float], typer.Option("--rate", help="Arrival rate in requests/s (instead of --load).")]
Requests = Annotated[Optional[int], typer.Option("--requests", help="Use the first N requests [default: 5000; --quick: 1500].")]
Predictor = Annotated[str, typer.Option("--predictor", help="Output-length predictor: oracle, noisy or none.")]
Sigma = Annotated[float, typer.Option("--sigma", help="Log-normal error σ of the noisy predictor.")]
Refresh = Annotated[float, typer.Option("--refresh", help="Load-signal refresh interval in seconds (0 = always fresh).")]
Arrival = Annotated[str, typer.Option("--arrival", help="Synthetic arrivals: poisson or gamma (bursty).")]
Cv = Annotated[float, typer.Option("--cv", help="Coefficient of variation of gamma inter-arrival times.")]
Lengths = Annotated[str, typer.Option("--lengths", help="Synthetic lengths: conv, code (resampled) or lognormal:P,O.")]
ReplicaYaml = Annotated[Optional[Path], typer.Option("--replica-config", help="YAML overriding ReplicaConfig fields.")]
LatencyYaml = Annotated[Optional[Path], typer.Option("--latency", help="YAML overriding LatencyModel coefficients.")]
SloTtft = Annotated[float, typer.Option("--slo-ttft", help="TTFT SLO in seconds.")]
SloTpot = Annotated[float, typer.Option("--slo-tpot", help="TPOT SLO in seconds per token.")]
Plugin = Annotated[Optional[list[Path]], typer.Option("--plugin", help="Load a policy file from anywhere (repeatable).")]


def _setup(trace, columns, time_unit, arrival, cv, lengths, requests, instances, load, rate, predictor, sigma,
           refresh, replica_config, latency, slo_ttft, slo_tpot, seed, quick, plugin):
    from sysai.config import load_yaml

    from llm_la_lab.experiments import Setup
    from llm_la_lab.latency import load_latency
    from llm_la_lab.metrics import Slo
    from llm_la_lab.policies.base import POLICIES
    from llm_la_lab.replica import ReplicaConfig

    for path in plugin or []:
        POLICIES.load_file(path)
    if load is not None and rate is not None:
        raise UserError("give --load or --rate, not both")
    if requests is None:
        requests = 1500 if quick else 5000
    return Setup(
        trace=None if trace in (None, "none") else trace, columns=columns, time_unit=time_unit, arrival=arrival,
        cv=cv, lengths=lengths, requests=requests, instances=instances, load=None if rate is not None else load,
        rate=rate, predictor=predictor, sigma=sigma, refresh_s=refresh,
        replica=load_yaml(ReplicaConfig, replica_config) if replica_config else ReplicaConfig(),
        latency=load_latency(latency), slo=Slo(slo_ttft, slo_tpot), seed=seed)


def _names(spec: str) -> list[str]:
    return [p.strip() for p in spec.split(",") if p.strip()]


@app.command()
def compare(
    trace: Trace = "conv", columns: Columns = None, time_unit: TimeUnit = "s",
    policies: Policies = ",".join(["round_robin", "random", "least_requests", "power_of_two",
                                   "least_outstanding_tokens", "llm_la"]),
    instances: Instances = 8, load: Load = 0.85, rate: Rate = None, requests: Requests = None,
    predictor: Predictor = "oracle", sigma: Sigma = 0.5, refresh: Refresh = 0.0,
    arrival: Arrival = "poisson", cv: Cv = 2.0, lengths: Lengths = "conv",
    replica_config: ReplicaYaml = None, latency: LatencyYaml = None, slo_ttft: SloTtft = 2.0, slo_tpot: SloTpot = 0.1,
    plugin: Plugin = None, seed: Seed = DEFAULT_SEED, out: Out = None, quick: Quick = False, json: Json = False,
) -> None:
    """Simulate every policy on the same workload; table, results.json, CDFs and per-replica load plots."""
    from sysai.results import finish, prepare_out

    from llm_la_lab.experiments import compare as run_compare
    from llm_la_lab.report import compare_table

    setup = _setup(trace, columns, time_unit, arrival, cv, lengths, requests, instances, load, rate, predictor, sigma,
                   refresh, replica_config, latency, slo_ttft, slo_tpot, seed, quick, plugin)
    folder = prepare_out(LAB, "compare", out)
    results = run_compare(setup, _names(policies), folder)
    finish(results, folder, json, lambda: compare_table(results))


@app.command()
def sweep(
    vary: Annotated[str, typer.Option("--vary", help="What to sweep: load, refresh (staleness, s) or sigma (predictor error).")] = "load",
    values: Annotated[Optional[str], typer.Option("--values", help="Comma-separated values [default depends on --vary].")] = None,
    trace: Trace = "conv", columns: Columns = None, time_unit: TimeUnit = "s",
    policies: Policies = "round_robin,least_requests,least_outstanding_tokens,llm_la",
    instances: Instances = 8, load: Load = 0.85, requests: Requests = None,
    predictor: Predictor = "oracle", sigma: Sigma = 0.5, refresh: Refresh = 0.0,
    arrival: Arrival = "poisson", cv: Cv = 2.0, lengths: Lengths = "conv",
    replica_config: ReplicaYaml = None, latency: LatencyYaml = None, slo_ttft: SloTtft = 2.0, slo_tpot: SloTpot = 0.1,
    address: Annotated[Optional[str], typer.Option("--address", help="Existing Ray cluster address (default: a private local one).")] = None,
    cpus: Annotated[Optional[int], typer.Option("--cpus", help="CPUs for the local Ray cluster [default: all].")] = None,
    plugin: Plugin = None, seed: Seed = DEFAULT_SEED, out: Out = None, quick: Quick = False, json: Json = False,
) -> None:
    """Policies × load / staleness / predictor error, points in parallel on Ray; p99-vs-x curves."""
    from sysai.results import finish, prepare_out

    from llm_la_lab.report import sweep_table
    from llm_la_lab.sweep import parse_values, run_sweep

    setup = _setup(trace, columns, time_unit, arrival, cv, lengths, requests, instances, load, None, predictor, sigma,
                   refresh, replica_config, latency, slo_ttft, slo_tpot, seed, quick, plugin)
    folder = prepare_out(LAB, "sweep", out)
    results = run_sweep(setup, _names(policies), vary, parse_values(vary, values, quick), folder, address, cpus,
                        plugins=[str(p) for p in plugin or []])
    finish(results, folder, json, lambda: sweep_table(results))


@app.command()
def policies() -> None:
    """List the routing policies and length predictors."""
    from sysai.tables import print_table

    from llm_la_lab.policies.base import POLICIES
    from llm_la_lab.predictors.base import PREDICTORS

    def first_line(item: type) -> str:
        return ((sys.modules[item.__module__].__doc__ or "").strip().splitlines() or [""])[0]

    rows = [["policy", n, first_line(c)] for n, c in POLICIES.items()]
    rows += [["predictor", n, first_line(c)] for n, c in PREDICTORS.items()]
    print_table("LLM-LA plug-ins", ["kind", "name", "what"], rows)
