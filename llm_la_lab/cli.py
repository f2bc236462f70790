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
DEFAULT_LOAD = 0.85
EVERY_POLICY = "round_robin,random,least_requests,power_of_two,least_outstanding_tokens,llm_la"
app = typer.Typer(no_args_is_help=True, add_completion=False)

Trace = Annotated[Optional[str], typer.Option("--trace", help="Trace: 'conv', 'code' (bundled Azure 2023) or a CSV/JSONL file; 'none' for synthetic.")]
Columns = Annotated[Optional[str], typer.Option("--columns", help="Column mapping, e.g. arrival=TIMESTAMP,input=ContextTokens,output=GeneratedTokens.")]
TimeUnit = Annotated[str, typer.Option("--time-unit", help="Unit of numeric arrival times: s or ms.")]
Policies = Annotated[str, typer.Option("--policies", help="Comma-separated policy names (see `sysai llm-la policies`).")]
Instances = Annotated[int, typer.Option("--instances", help="Number of replicas.")]
Load = Annotated[Optional[float], typer.Option("--load", help="Offered load ρ: fraction of the cluster's saturation throughput (0 = replay a trace at its own pace).")]
CompareLoad = Annotated[Optional[float], typer.Option("--load", help="Offered load ρ: fraction of the cluster's saturation throughput (0 = replay a trace at its own pace) \\[default: 0.85 unless --rate].")]
Rate = Annotated[Optional[float], typer.Option("--rate", help="Arrival rate in requests/s (instead of --load).")]
Requests = Annotated[Optional[int], typer.Option("--requests", help="Use the first N requests \\[default: 5000; --quick: 1500].")]
Predictor = Annotated[str, typer.Option("--predictor", help="Output-length predictor: oracle, noisy or none.")]
Sigma = Annotated[float, typer.Option("--sigma", help="Log-normal error σ of the noisy predictor.")]
Refresh = Annotated[float, typer.Option("--refresh", help="Load-signal refresh interval in seconds (0 = always fresh).")]
Arrival = Annotated[str, typer.Option("--arrival", help="Synthetic arrivals: poisson or gamma (bursty).")]
Cv = Annotated[float, typer.Option("--cv", help="Coefficient of variation of gamma inter-arrival times.")]
Lengths = Annotated[str, typer.Option("--lengths", help="Synthetic lengths: conv, code (resampled) or lognormal:P,O.")]
ReplicaYaml = Annotated[Optional[str], typer.Option("--replica-config", help="Replica preset (a100-80gb, constrained) or a YAML file of ReplicaConfig fields.")]
LatencyYaml = Annotated[Optional[Path], typer.Option("--latency", help="YAML overriding LatencyModel coefficients.")]
SloTtft = Annotated[float, typer.Option("--slo-ttft", help="TTFT SLO in seconds.")]
SloTpot = Annotated[float, typer.Option("--slo-tpot", help="TPOT SLO in seconds per token.")]
Plugin = Annotated[Optional[list[Path]], typer.Option("--plugin", help="Load a policy file from anywhere (repeatable).")]
Set = Annotated[Optional[list[str]], typer.Option("--set", help="A policy option POLICY.KEY=VALUE (repeatable), e.g. llm_la.aging_tokens_s=100; see `sysai llm-la policies`.")]
PolicyConfig = Annotated[Optional[Path], typer.Option("--policy-config", help="YAML file of policy options: {policy: {key: value}} (--set wins).")]


def _options(plugin, assignments, policy_config) -> dict:
    """Load plug-in policy files, then parse (and check) the policy options."""
    from llm_la_lab.policies.base import POLICIES, policy_options

    for path in plugin or []:
        POLICIES.load_file(path)
    return policy_options(assignments or [], policy_config)


def _setup(trace, columns, time_unit, arrival, cv, lengths, requests, instances, load, rate, predictor, sigma,
           refresh, replica_config, latency, slo_ttft, slo_tpot, seed, quick, plugin, assignments, policy_config):
    from llm_la_lab.experiments import Setup
    from llm_la_lab.latency import load_latency
    from llm_la_lab.metrics import Slo
    from llm_la_lab.replica import load_replica_config

    options = _options(plugin, assignments, policy_config)
    if load is not None and rate is not None:
        raise UserError("give --load or --rate, not both")
    if load is None and rate is None:
        load = DEFAULT_LOAD
    if requests is None:
        requests = 1500 if quick else 5000
    return Setup(
        trace=None if trace in (None, "none") else trace, columns=columns, time_unit=time_unit, arrival=arrival,
        cv=cv, lengths=lengths, requests=requests, instances=instances,
        load=None if rate is not None or load == 0 else load,
        rate=rate, predictor=predictor, sigma=sigma, refresh_s=refresh,
        replica=load_replica_config(replica_config),
        latency=load_latency(latency), slo=Slo(slo_ttft, slo_tpot), seed=seed, policy_options=options)


def _names(spec: str) -> list[str]:
    return [p.strip() for p in spec.split(",") if p.strip()]


@app.command()
def compare(
    trace: Trace = "conv", columns: Columns = None, time_unit: TimeUnit = "s",
    policies: Policies = EVERY_POLICY,
    instances: Instances = 8, load: CompareLoad = None, rate: Rate = None, requests: Requests = None,
    predictor: Predictor = "oracle", sigma: Sigma = 0.5, refresh: Refresh = 0.0,
    arrival: Arrival = "poisson", cv: Cv = 2.0, lengths: Lengths = "conv",
    replica_config: ReplicaYaml = None, latency: LatencyYaml = None, slo_ttft: SloTtft = 2.0, slo_tpot: SloTpot = 0.1,
    plugin: Plugin = None, set_: Set = None, policy_config: PolicyConfig = None,
    seed: Seed = DEFAULT_SEED, out: Out = None, quick: Quick = False, json: Json = False,
) -> None:
    """Simulate every policy on the same workload; table, results.json, CDFs and per-replica load plots."""
    from sysai.results import finish, prepare_out

    from llm_la_lab.experiments import compare as run_compare
    from llm_la_lab.report import compare_table

    setup = _setup(trace, columns, time_unit, arrival, cv, lengths, requests, instances, load, rate, predictor, sigma,
                   refresh, replica_config, latency, slo_ttft, slo_tpot, seed, quick, plugin, set_, policy_config)
    folder = prepare_out(LAB, "compare", out)
    results = run_compare(setup, _names(policies), folder)
    finish(results, folder, json, lambda: compare_table(results))


@app.command()
def sweep(
    vary: Annotated[str, typer.Option("--vary", help="What to sweep: load, refresh (staleness, s) or sigma (predictor error).")] = "load",
    values: Annotated[Optional[str], typer.Option("--values", help="Comma-separated values \\[default depends on --vary].")] = None,
    trace: Trace = "conv", columns: Columns = None, time_unit: TimeUnit = "s",
    policies: Policies = "round_robin,least_requests,least_outstanding_tokens,llm_la",
    instances: Instances = 8, load: Load = 0.85, requests: Requests = None,
    predictor: Predictor = "oracle", sigma: Sigma = 0.5, refresh: Refresh = 0.0,
    arrival: Arrival = "poisson", cv: Cv = 2.0, lengths: Lengths = "conv",
    replica_config: ReplicaYaml = None, latency: LatencyYaml = None, slo_ttft: SloTtft = 2.0, slo_tpot: SloTpot = 0.1,
    address: Annotated[Optional[str], typer.Option("--address", help="Existing Ray cluster address (default: a private local one).")] = None,
    cpus: Annotated[Optional[int], typer.Option("--cpus", help="CPUs for the local Ray cluster \\[default: all].")] = None,
    plugin: Plugin = None, set_: Set = None, policy_config: PolicyConfig = None,
    seed: Seed = DEFAULT_SEED, out: Out = None, quick: Quick = False, json: Json = False,
) -> None:
    """Policies × load / staleness / predictor error, points in parallel on Ray; p99-vs-x curves."""
    from sysai.results import finish, prepare_out

    from llm_la_lab.report import sweep_table
    from llm_la_lab.sweep import parse_values, run_sweep

    setup = _setup(trace, columns, time_unit, arrival, cv, lengths, requests, instances, load, None, predictor, sigma,
                   refresh, replica_config, latency, slo_ttft, slo_tpot, seed, quick, plugin, set_, policy_config)
    folder = prepare_out(LAB, "sweep", out)
    results = run_sweep(setup, _names(policies), vary, parse_values(vary, values, quick), folder, address, cpus,
                        plugins=[str(p) for p in plugin or []])
    finish(results, folder, json, lambda: sweep_table(results))


@app.command()
def policies() -> None:
    """List the routing policies (with their options) and length predictors."""
    from sysai.config import describe
    from sysai.tables import print_table

    from llm_la_lab.policies.base import POLICIES
    from llm_la_lab.predictors.base import PREDICTORS

    def first_line(item: type) -> str:
        return ((sys.modules[item.__module__].__doc__ or "").strip().splitlines() or [""])[0]

    rows = [["policy", n, first_line(c)] for n, c in POLICIES.items()]
    rows += [["predictor", n, first_line(c)] for n, c in PREDICTORS.items()]
    print_table("LLM-LA plug-ins", ["kind", "name", "what"], rows)
    options = [[n, key, default, text] for n, c in POLICIES.items() if c.Config is not None
               for key, default, text in describe(c.Config)]
    if options:
        print_table("policy options (--set POLICY.KEY=VALUE or --policy-config FILE.yaml)",
                    ["policy", "option", "default", "what"], options)


TimeScale = Annotated[float, typer.Option("--time-scale", help="Wall seconds per modelled second (0.1 = 10× faster than the A100 model).")]


@app.command("serve-engines")
def serve_engines(
    instances: Instances = 2,
    time_scale: TimeScale = 0.1,
    port: Annotated[int, typer.Option("--port", help="Port of engine 0; engine i listens on PORT+i (0 = any free ports).")] = 8100,
    replica_config: ReplicaYaml = None, latency: LatencyYaml = None,
) -> None:
    """Start N mock OpenAI-compatible engines, each on its own port, until Ctrl-C."""
    from llm_la_lab.latency import load_latency
    from llm_la_lab.live.engine import make_engine_app
    from llm_la_lab.replica import load_replica_config
    from sysai.http import run_all_until_interrupted

    if instances < 1 or not time_scale > 0:
        raise UserError("--instances must be ≥ 1 and --time-scale > 0")
    if port and not 0 < port + instances - 1 <= 65535:
        raise UserError(f"--port {port}: ports {port}..{port + instances - 1} are not all valid TCP ports")
    config = load_replica_config(replica_config)
    model = load_latency(latency)
    apps = [make_engine_app(f"engine-{i}", config, model, time_scale) for i in range(instances)]

    def ready(urls: list[str]) -> None:
        backends = " ".join(f"--backend {url}" for url in urls)
        print(f"{instances} mock engines; route to them with:\n  sysai llm-la proxy {backends}", flush=True)

    run_all_until_interrupted(apps, [port + i if port else 0 for i in range(instances)], on_ready=ready)


@app.command()
def proxy(
    backend: Annotated[list[str], typer.Option("--backend", help="Backend base URL (repeatable): a mock engine, e.g. http://127.0.0.1:8100, or any OpenAI-compatible server such as vLLM.")],
    policy: Annotated[str, typer.Option("--policy", help="Routing policy.")] = "llm_la",
    predictor: Predictor = "oracle", sigma: Sigma = 0.5,
    refresh: Annotated[float, typer.Option("--refresh", help="Seconds between /load polls of the backends.")] = 0.05,
    port: Annotated[int, typer.Option("--port", help="Port (0 = any free one).")] = 8000,
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback by default).")] = "127.0.0.1",
    plugin: Plugin = None, set_: Set = None, policy_config: PolicyConfig = None, seed: Seed = DEFAULT_SEED,
) -> None:
    """An OpenAI-compatible routing proxy using the simulator's policy objects, until Ctrl-C."""
    from sysai.http import run_until_interrupted

    from llm_la_lab.live.proxy import Proxy, make_proxy_app
    from llm_la_lab.live.replay import check_url
    from llm_la_lab.policies.base import make_policy
    from llm_la_lab.predictors.base import make_predictor

    options = _options(plugin, set_, policy_config)
    if not refresh > 0:
        raise UserError("--refresh must be positive")
    urls = [check_url(b, allow_remote=True, option="--backend") for b in backend]
    the_proxy = Proxy(urls, make_policy(policy, seed, options.get(policy)), make_predictor(predictor, seed, sigma),
                      refresh_s=refresh)
    run_until_interrupted(make_proxy_app(the_proxy), host=host, port=port)


@app.command()
def replay(
    url: Annotated[str, typer.Option("--url", help="Base URL of an OpenAI-compatible server (the proxy).")],
    trace: Trace = "conv", columns: Columns = None, time_unit: TimeUnit = "s",
    requests: Annotated[int, typer.Option("--requests", help="Replay the first N requests (at most 5000).")] = 200,
    rate: Annotated[Optional[float], typer.Option("--rate", help="Rescale to this many requests per modelled second.")] = None,
    time_scale: TimeScale = 0.1,
    allow_remote: Annotated[bool, typer.Option("--allow-remote", help="Allow a non-loopback URL.")] = False,
    slo_ttft: SloTtft = 2.0, slo_tpot: SloTpot = 0.1,
    out: Out = None, json: Json = False,
) -> None:
    """Replay a trace against a URL (streaming completions) and measure TTFT/TPOT/E2E in model seconds."""
    import asyncio

    from sysai.results import finish, prepare_out, write_csv
    from sysai.tables import print_table

    from llm_la_lab.live.replay import check_url, replay as run_replay, summarize_outcomes
    from llm_la_lab.metrics import Slo
    from llm_la_lab.workload import load_trace

    base = check_url(url, allow_remote)
    workload = load_trace(trace or "conv", columns, time_unit).head(requests)
    if rate is not None:
        workload = workload.at_rate(rate)
    folder = prepare_out(LAB, "replay", out)
    outcomes = asyncio.run(run_replay(base, workload, time_scale))
    summary = summarize_outcomes(outcomes, Slo(slo_ttft, slo_tpot))
    write_csv(folder / "requests.csv", [vars(o) for o in outcomes])
    results = {"url": base, "requests": len(workload), "time_scale": time_scale, **summary}
    rows = [[k, v] for k, v in summary.items()]
    failed = [o.error for o in outcomes if o.error]
    note = f"{len(failed)} of {len(outcomes)} failed; first error: {failed[0]}" if failed else None
    finish(results, folder, json, lambda: print_table(f"replay of {len(workload)} requests against {base}",
                                                      ["metric", "value"], rows, note=note))


@app.command("live-compare")
def live_compare(
    policies: Policies = "round_robin,llm_la",
    instances: Instances = 2, load: Load = 0.9, requests: Requests = None,
    trace: Trace = "conv", predictor: Predictor = "oracle", sigma: Sigma = 0.5,
    time_scale: TimeScale = 0.2,
    poll: Annotated[float, typer.Option("--poll", help="Proxy /load poll interval, wall seconds.")] = 0.01,
    tolerance: Annotated[float, typer.Option("--tolerance", help="Allowed relative sim-vs-live difference of mean E2E/TPOT.")] = 0.25,
    replica_config: ReplicaYaml = "constrained",
    plugin: Plugin = None, set_: Set = None, policy_config: PolicyConfig = None,
    seed: Seed = DEFAULT_SEED, out: Out = None, quick: Quick = False, json: Json = False,
) -> None:
    """Sim-vs-live agreement: the same trace slice through the simulator and through proxy + mock engines."""
    from sysai.results import finish, prepare_out
    from sysai.tables import print_table

    from llm_la_lab.experiments import Setup
    from llm_la_lab.live.agreement import agreement
    from llm_la_lab.replica import load_replica_config

    config = load_replica_config(replica_config)
    setup = Setup(trace=None if trace in (None, "none") else trace, requests=requests or (150 if quick else 300),
                  instances=instances, load=load, predictor=predictor, sigma=sigma, replica=config, seed=seed,
                  policy_options=_options(plugin, set_, policy_config))
    folder = prepare_out(LAB, "live-compare", out)
    results = agreement(setup, _names(policies), time_scale, poll, tolerance)

    def show() -> None:
        rows = [[p, results.sim[p]["e2e_mean_s"], results.live[p]["e2e_mean_s"], results.sim[p]["ttft_mean_s"],
                 results.live[p]["ttft_mean_s"], results.sim[p]["tpot_mean_s"] * 1e3, results.live[p]["tpot_mean_s"] * 1e3,
                 f"{100 * results.relative_error[p]['e2e_mean_s']:+.1f} %", results.live[p]["errors"]]
                for p in results.sim]
        print_table("LLM-LA: simulator vs live proxy + mock engines", ["policy", "E2E sim", "E2E live", "TTFT sim",
                    "TTFT live", "TPOT sim ms", "TPOT live ms", "Δ E2E", "errors"], rows,
                    note=f"ranking sim {results.sim_ranking} / live {results.live_ranking} "
                         f"({'agree' if results.ranking_agrees else 'DIFFER'} beyond ±{results.rank_margin:.0%}); means within ±{tolerance:.0%}: "
                         f"{'yes' if results.within_tolerance else 'NO'}; {results.wall_s:.1f} s wall. "
                         f"The simulator uses the poll interval the proxy achieved ("
                         + ", ".join(f"{p} {1e3 * v:.1f} ms" for p, v in results.achieved_poll_s.items())
                         + f" wall, configured {1e3 * poll:.0f} ms); with the configured one it predicts E2E "
                         + ", ".join(f"{p} {results.nominal_sim[p]['e2e_mean_s']:.2f} s" for p in results.nominal_sim))

    finish(results, folder, json, show)
