"""`sysai llm-la ...`: compare, sweep, bench (simulator); serve-engines, proxy, replay, live-compare (live).

Thin: each command parses its options, calls :mod:`llm_la_lab.experiments` (or the live adapters)
and prints with :mod:`llm_la_lab.report`. Lists of policies and predictors come from their
registries, so a dropped-in plugin file shows up in every help text and default. Heavy imports
(simpy, numpy, ray, aiohttp, matplotlib) happen inside the commands so ``sysai --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sysai.errors import UserError
from sysai.options import DEFAULT_SEED, Cpus, Json, Out, Plugin, Port, Quick, Seed, Url, load_plugins

from llm_la_lab.live import DEFAULT_PROXY_POLICY, LIVE_POLICIES
from llm_la_lab.policies.base import POLICIES
from llm_la_lab.predictors.base import PREDICTORS, default_predictor

LAB = "llm-la"
app = typer.Typer(no_args_is_help=True, add_completion=False)


def _defaults_text() -> str:
    return ",".join(POLICIES.defaults())


Trace = Annotated[Optional[str], typer.Option("--trace", help=(
    "Trace: 'conv', 'code' (bundled Azure 2023), 'mooncake' (bundled Mooncake synthetic, "
    "with prefix hashes) or a CSV/JSONL file; 'none' for synthetic."
))]
Columns = Annotated[Optional[str], typer.Option("--columns", help=(
    "Column mapping, e.g. arrival=TIMESTAMP,input=ContextTokens,output=GeneratedTokens."
))]
TimeUnit = Annotated[Optional[str], typer.Option("--time-unit", help=(
    "Unit of numeric arrival times: s or ms \\[default: ms for JSONL (Mooncake) traces, "
    "else s]."
))]
Policies = Annotated[Optional[str], typer.Option("--policies", help=(
    f"Comma-separated policy names \\[default: {_defaults_text()}]."
), show_default=False)]
Instances = Annotated[int, typer.Option("--instances", help="Number of replicas.")]
Load = Annotated[Optional[float], typer.Option("--load", help=(
    "Offered load ρ: fraction of the cluster's saturation throughput (0 = replay a trace "
    "at its own pace) \\[default: 0.85 unless --rate]."
), show_default=False)]
Rate = Annotated[Optional[float], typer.Option("--rate", help="Arrival rate in requests/s (instead of --load).")]
Requests = Annotated[Optional[int], typer.Option("--requests", help=(
    "Use the first N requests \\[default: 5000; --quick: 1500]."
), show_default=False)]
Predictor = Annotated[Optional[str], typer.Option("--predictor", help=(
    f"Output-length predictor: {', '.join(PREDICTORS.names())} \\[default: "
    f"{default_predictor()}]."
), show_default=False)]
Sigma = Annotated[float, typer.Option("--sigma", help="Log-normal error σ of the noisy predictor.")]
Refresh = Annotated[float, typer.Option("--refresh", help=(
    "Load-signal refresh interval in seconds (0 = always fresh)."
))]
Arrival = Annotated[str, typer.Option("--arrival", help="Synthetic arrivals: poisson or gamma (bursty).")]
Cv = Annotated[float, typer.Option("--cv", help="Coefficient of variation of gamma inter-arrival times.")]
Lengths = Annotated[str, typer.Option("--lengths", help="Synthetic lengths: conv, code (resampled) or lognormal:P,O.")]
ReplicaSpec = Annotated[Optional[str], typer.Option("--replica-config", help=(
    "Replica preset (see `sysai llm-la policies`), NAME*N,NAME*M for one entry per replica "
    "(heterogeneous), or a YAML file \\[default: a100-80gb]."
), show_default=False)]
LatencyYaml = Annotated[Optional[Path], typer.Option("--latency", help=(
    "YAML overriding every replica's LatencyModel coefficients."
))]
SloTtft = Annotated[float, typer.Option("--slo-ttft", help="TTFT SLO in seconds.")]
SloTpot = Annotated[float, typer.Option("--slo-tpot", help="TPOT SLO in seconds per token.")]
Set = Annotated[Optional[list[str]], typer.Option("--set", help=(
    "A policy option POLICY.KEY=VALUE (repeatable), e.g. llm_la.pull_depth=48; see `sysai "
    "llm-la policies`."
))]
PolicyConfig = Annotated[Optional[Path], typer.Option("--policy-config", help=(
    "YAML file of policy options: {policy: {key: value}} (--set wins)."
))]
TimeScale = Annotated[float, typer.Option("--time-scale", help=(
    "Wall seconds per modelled second (0.1 = 10× faster than the A100 model)."
))]


def _names(spec: str | None) -> list[str] | None:
    return [p.strip() for p in spec.split(",") if p.strip()] if spec else None


@app.command()
def compare(
    trace: Trace = "conv", columns: Columns = None, time_unit: TimeUnit = None, policies: Policies = None,
    instances: Instances = 8, load: Load = None, rate: Rate = None, requests: Requests = None,
    predictor: Predictor = None, sigma: Sigma = 0.5, refresh: Refresh = 0.0,
    arrival: Arrival = "poisson", cv: Cv = 2.0, lengths: Lengths = "conv",
    replica_config: ReplicaSpec = None, latency: LatencyYaml = None, slo_ttft: SloTtft = 2.0, slo_tpot: SloTpot = 0.1,
    plugin: Plugin = None, set_: Set = None, policy_config: PolicyConfig = None,
    seed: Seed = DEFAULT_SEED, out: Out = None, quick: Quick = False, json: Json = False,
) -> None:
    """Simulate every policy on the same workload; table, results.json, CDFs and per-replica load plots."""
    from sysai.results import finish, prepare_out

    from llm_la_lab.experiments import compare as run_compare, make_setup
    from llm_la_lab.report import compare_table

    load_plugins(plugin)
    setup = make_setup(trace=trace, columns=columns, time_unit=time_unit, arrival=arrival, cv=cv, lengths=lengths,
                       requests=requests, instances=instances, load=load, rate=rate, predictor=predictor, sigma=sigma,
                       refresh=refresh, replica_config=replica_config, latency=latency, slo_ttft=slo_ttft,
                       slo_tpot=slo_tpot, seed=seed, quick=quick, assignments=set_, policy_config=policy_config)
    folder = prepare_out(LAB, "compare", out)
    results = run_compare(setup, _names(policies), folder)
    finish(results, folder, json, lambda: compare_table(results))


@app.command()
def sweep(
    vary: Annotated[str, typer.Option("--vary", help=(
        "What to sweep: load, refresh (staleness, s) or sigma (predictor error)."
    ))] = "load",
    values: Annotated[Optional[str], typer.Option("--values", help=(
        "Comma-separated values \\[default depends on --vary]."
    ))] = None,
    trace: Trace = "conv", columns: Columns = None, time_unit: TimeUnit = None, policies: Policies = None,
    instances: Instances = 8, load: Load = None, requests: Requests = None,
    predictor: Predictor = None, sigma: Sigma = 0.5, refresh: Refresh = 0.0,
    arrival: Arrival = "poisson", cv: Cv = 2.0, lengths: Lengths = "conv",
    replica_config: ReplicaSpec = None, latency: LatencyYaml = None, slo_ttft: SloTtft = 2.0, slo_tpot: SloTpot = 0.1,
    address: Annotated[Optional[str], typer.Option("--address", help=(
        "Existing Ray cluster address (default: a private local one)."
    ))] = None,
    cpus: Cpus = None, plugin: Plugin = None, set_: Set = None, policy_config: PolicyConfig = None,
    seed: Seed = DEFAULT_SEED, out: Out = None, quick: Quick = False, json: Json = False,
) -> None:
    """Policies × load / staleness / predictor error, points in parallel on Ray; p99-vs-x curves."""
    from sysai.results import finish, prepare_out

    from llm_la_lab.experiments import make_setup
    from llm_la_lab.report import sweep_table
    from llm_la_lab.sweep import parse_values, run_sweep

    load_plugins(plugin)
    setup = make_setup(trace=trace, columns=columns, time_unit=time_unit, arrival=arrival, cv=cv, lengths=lengths,
                       requests=requests, instances=instances, load=load, predictor=predictor, sigma=sigma,
                       refresh=refresh, replica_config=replica_config, latency=latency, slo_ttft=slo_ttft,
                       slo_tpot=slo_tpot, seed=seed, quick=quick, assignments=set_, policy_config=policy_config)
    folder = prepare_out(LAB, "sweep", out)
    results = run_sweep(setup, _names(policies), vary, parse_values(vary, values, quick), folder, address, cpus,
                        plugins=[str(p) for p in plugin or []])
    finish(results, folder, json, lambda: sweep_table(results))


@app.command()
def bench(
    policies: Policies = None, plugin: Plugin = None,
    seed: Seed = DEFAULT_SEED, out: Out = None, quick: Quick = False, json: Json = False,
) -> None:
    """The benchmark: every policy on the Mooncake trace (8 replicas, ρ≈0.85) + the simulator's speed."""
    from sysai.results import finish, prepare_out

    from llm_la_lab.bench import run_bench
    from llm_la_lab.report import bench_tables

    load_plugins(plugin)
    folder = prepare_out(LAB, "bench", out)
    results = run_bench(_names(policies) or POLICIES.names(), quick=quick, seed=seed, out=folder)
    finish(results, folder, json, lambda: bench_tables(results))


@app.command()
def policies(plugin: Plugin = None) -> None:
    """List the routing policies and length predictors (with their options) and the replica presets."""
    from llm_la_lab.report import plugins_table

    load_plugins(plugin)
    plugins_table()


@app.command("serve-engines")
def serve_engines(
    instances: Instances = 2,
    time_scale: TimeScale = 0.1,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help=(
        "Port of engine 0; engine i listens on PORT+i (0 = any free ports)."
    ))] = 8100,
    replica_config: ReplicaSpec = None, latency: LatencyYaml = None,
    no_load: Annotated[bool, typer.Option("--no-load", help=(
        "Leave out the mock-only /load endpoint: only vLLM's /metrics, as a real vLLM."
    ))] = False,
) -> None:
    """Start N mock OpenAI-compatible engines, each on its own port, until Ctrl-C."""
    from sysai.http import run_all_until_interrupted

    from llm_la_lab.cluster import load_cluster
    from llm_la_lab.latency import load_latency
    from llm_la_lab.live.engine import make_engine_app

    if instances < 1 or not time_scale > 0:
        raise UserError("--instances must be ≥ 1 and --time-scale > 0")
    if port and not 0 < port + instances - 1 <= 65535:
        raise UserError(f"--port {port}: ports {port}..{port + instances - 1} are not all valid TCP ports")
    cluster = load_cluster(replica_config, instances, None if latency is None else load_latency(latency))
    apps = [make_engine_app(f"engine-{i}", config, model, time_scale, fast_path=not no_load)
            for i, (config, model) in enumerate(zip(cluster.configs, cluster.latencies))]

    def ready(urls: list[str]) -> None:
        backends = " ".join(f"--backend {url}" for url in urls)
        print(f"{instances} mock engines; route to them with:\n  sysai llm-la proxy {backends}", flush=True)

    run_all_until_interrupted(apps, [port + i if port else 0 for i in range(instances)], on_ready=ready)


@app.command()
def proxy(
    backend: Annotated[list[str], typer.Option("--backend", help=(
        "Backend base URL (repeatable): a mock engine, e.g. http://127.0.0.1:8100, or any "
        "OpenAI-compatible server such as vLLM."
    ))],
    policy: Annotated[Optional[str], typer.Option("--policy", help=(
        f"Routing policy: one of {', '.join(POLICIES.names())} \\[default: {DEFAULT_PROXY_POLICY}]."
    ), show_default=False)] = None,
    predictor: Predictor = None, sigma: Sigma = 0.5,
    refresh: Annotated[float, typer.Option("--refresh", help=(
        "Seconds between load polls (/load or vLLM's /metrics) of the backends."
    ))] = 0.05,
    port: Port = 8000,
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback by default).")] = "127.0.0.1",
    plugin: Plugin = None, set_: Set = None, policy_config: PolicyConfig = None, seed: Seed = DEFAULT_SEED,
) -> None:
    """An OpenAI-compatible routing proxy using the simulator's policy objects, until Ctrl-C."""
    from sysai.http import run_until_interrupted

    from llm_la_lab.live.proxy import build_proxy, make_proxy_app

    load_plugins(plugin)
    the_proxy = build_proxy(backend, policy, predictor, sigma, refresh, seed, set_ or [], policy_config)
    run_until_interrupted(make_proxy_app(the_proxy), host=host, port=port)


@app.command()
def replay(
    url: Url,
    trace: Trace = "conv", columns: Columns = None, time_unit: TimeUnit = None,
    requests: Annotated[int, typer.Option("--requests", help="Replay the first N requests (at most 5000).")] = 200,
    rate: Annotated[Optional[float], typer.Option("--rate", help=(
        "Rescale to this many requests per modelled second."
    ))] = None,
    time_scale: TimeScale = 0.1,
    allow_remote: Annotated[bool, typer.Option("--allow-remote", help="Allow a non-loopback URL.")] = False,
    slo_ttft: SloTtft = 2.0, slo_tpot: SloTpot = 0.1,
    out: Out = None, json: Json = False,
) -> None:
    """Replay a trace against a URL (streaming completions) and measure TTFT/TPOT/E2E in model seconds."""
    from sysai.results import finish, prepare_out

    from llm_la_lab.live.replay import replay_trace
    from llm_la_lab.report import replay_table

    folder = prepare_out(LAB, "replay", out)
    results = replay_trace(url, trace or "conv", columns, time_unit, requests, rate, time_scale, allow_remote,
                           slo_ttft, slo_tpot, folder)
    finish(results, folder, json, lambda: replay_table(results))


@app.command("live-compare")
def live_compare(
    policies: Annotated[Optional[str], typer.Option("--policies", help=(
        f"Comma-separated policy names \\[default: {','.join(LIVE_POLICIES)}]."
    ), show_default=False)] = None,
    instances: Instances = 2, load: Load = None, requests: Annotated[Optional[int], typer.Option("--requests", help=(
        "Requests per policy \\[default: 300; --quick: 150]."
    ), show_default=False)] = None,
    trace: Trace = "conv", predictor: Predictor = None, sigma: Sigma = 0.5,
    time_scale: TimeScale = 0.2,
    poll: Annotated[float, typer.Option("--poll", help="Proxy load-poll interval, wall seconds.")] = 0.01,
    tolerance: Annotated[float, typer.Option("--tolerance", help=(
        "Allowed relative sim-vs-live difference of mean E2E/TPOT."
    ))] = 0.25,
    replica_config: ReplicaSpec = "constrained",
    plugin: Plugin = None, set_: Set = None, policy_config: PolicyConfig = None,
    seed: Seed = DEFAULT_SEED, out: Out = None, quick: Quick = False, json: Json = False,
) -> None:
    """Sim-vs-live agreement: the same trace slice through the simulator and through proxy + mock engines."""
    from sysai.results import finish, prepare_out

    from llm_la_lab.experiments import make_setup
    from llm_la_lab.live.agreement import agreement
    from llm_la_lab.report import agreement_table

    load_plugins(plugin)
    setup = make_setup(trace=trace, requests=requests, instances=instances, load=load, predictor=predictor,
                       sigma=sigma, replica_config=replica_config, seed=seed, quick=quick, assignments=set_,
                       policy_config=policy_config, default_load=0.9, default_requests=(300, 150))
    folder = prepare_out(LAB, "live-compare", out)
    results = agreement(setup, _names(policies) or list(LIVE_POLICIES), time_scale, poll, tolerance)
    finish(results, folder, json, lambda: agreement_table(results))
