"""`sysai yuanrong ...`: the lab's commands (heavy imports stay inside the functions)."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Annotated, Optional

import typer

from sysai.errors import UserError
from sysai.options import DEFAULT_SEED, Json, Out, Quick, Seed

LAB = "yuanrong"
app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="openYuanrong-style serverless functions on Ray.")

Address = Annotated[Optional[str], typer.Option("--address", help="An existing Ray cluster (default: start a local one).")]
NumCpus = Annotated[Optional[int], typer.Option("--num-cpus", help="CPUs for the local Ray cluster (default: all).")]


@app.command()
def keepalive(
    functions: Annotated[int, typer.Option("--functions", help="Functions in the synthetic workload.")] = 300,
    hours: Annotated[float, typer.Option("--hours", help="Simulated hours.")] = 72.0,
    trace: Annotated[Optional[Path], typer.Option("--trace", help="Azure Functions 2019 invocations CSV instead of the generator.")] = None,
    policy: Annotated[Optional[list[str]], typer.Option("--policy", help="Only these policies (repeatable): none, fixed, hybrid-histogram.")] = None,
    cold_start_s: Annotated[float, typer.Option("--cold-start-s", help="Simulated cold-start delay (s).")] = 0.5,
    plugin: Annotated[Optional[Path], typer.Option("--plugin", help="A file registering your own keep-alive policy (then --policy NAME).")] = None,
    seed: Seed = DEFAULT_SEED, out: Out = None, quick: Quick = False, json: Json = False,
) -> None:
    """Simulate keep-alive policies at trace scale (SimPy): cold starts vs idle memory, Pareto plot."""
    from sysai.results import finish, prepare_out
    from sysai.tables import print_table
    from yuanrong_lab.keepalive.base import POLICIES
    from yuanrong_lab.keepalive_sim import run_keepalive
    from yuanrong_lab.workload import generate, load_azure_csv

    if plugin is not None:
        POLICIES.load_file(plugin)
    if functions < 1 or hours <= 0:
        raise UserError(f"--functions must be >= 1 and --hours > 0 (got {functions}, {hours})")
    if cold_start_s < 0:
        raise UserError(f"--cold-start-s must be >= 0, got {cold_start_s}")
    if quick:
        functions, hours = min(functions, 80), min(hours, 48.0)
    folder = prepare_out(LAB, "keepalive", out)
    workload = (load_azure_csv(trace, seed, hours=hours, limit=functions) if trace is not None
                else generate(functions, hours, seed))
    results = run_keepalive(workload, seed, folder, policy, cold_start_s)

    def show() -> None:
        kinds = sorted(next(iter(results.policies.values()))["cold_start_pct_by_kind"])[:4]
        rows = [[name, r["cold_start_pct"], r["p75_function_cold_start_pct"], r["idle_memory_gb_s"],
                 *(r["cold_start_pct_by_kind"].get(k) for k in kinds)] for name, r in results.policies.items()]
        h = results.headline
        note = (f"{results.workload}: {results.invocations:,} invocations. "
                + (f"{h['hybrid']} vs {h['fixed_at_similar_memory']} (closest idle memory, ratio "
                   f"{h['memory_ratio_hybrid_over_fixed']:.2f}): p75 cold {h['hybrid_p75_cold_pct']:.1f} % vs "
                   f"{h['fixed_p75_cold_pct']:.1f} %." if h else ""))
        print_table("keep-alive policies (simulated)", ["policy", "cold %", "p75 fn cold %", "idle GB·s", *kinds],
                    rows, note=f"{note}\nLast columns: cold % of the calls to each kind of function.")

    finish(results, folder, json, show)


@app.command()
def autoscale(
    burst_rps: Annotated[float, typer.Option("--burst-rps", help="Arrival rate during the burst (calls/s).")] = 40.0,
    max_instances: Annotated[int, typer.Option("--max-instances", help="Instance cap.")] = 20,
    seed: Seed = DEFAULT_SEED, out: Out = None, quick: Quick = False, json: Json = False,
) -> None:
    """Simulate a burst against one function under autoscaler settings (windows, burst mode)."""
    from sysai.plotting import figure
    from sysai.results import finish, prepare_out
    from sysai.tables import print_table
    from yuanrong_lab.autoscale_sim import BurstScenario, arrivals, simulate_burst, variants

    if max_instances < 1:
        raise UserError(f"--max-instances must be >= 1, got {max_instances}")
    folder = prepare_out(LAB, "autoscale", out)
    scenario = BurstScenario(burst_rps=burst_rps, horizon_s=40.0 if quick else 60.0)
    times = arrivals(scenario, seed)
    outcome = {name: simulate_burst(scenario, cfg, times) for name, cfg in variants(max_instances).items()}
    with figure(folder / "autoscale_p99.png", title=f"Burst of {burst_rps:g} calls/s for {scenario.burst_s:g} s",
                ylabel="p99 latency (s)", size=(9.0, 5.0)) as ax:
        ax.bar(range(len(outcome)), [o["p99_ms"] / 1e3 for o in outcome.values()])
        ax.set_xticks(range(len(outcome)), list(outcome), rotation=15, fontsize=10)
    results = {"scenario": scenario, "seed": seed, "variants": outcome, "figures": [str(folder / "autoscale_p99.png")]}

    def show() -> None:
        rows = [[k, v["p50_ms"], v["p99_ms"], v["cold_starts"], v["peak_instances"], v["idle_instance_s"]]
                for k, v in outcome.items()]
        print_table("autoscaler under a burst (simulated)", ["setting", "p50 ms", "p99 ms", "cold starts",
                                                             "peak instances", "idle instance·s"], rows)

    finish(results, folder, json, show)


@app.command()
def bench(
    address: Address = None, num_cpus: NumCpus = None,
    gateway: Annotated[bool, typer.Option("--gateway/--no-gateway", help="Include the HTTP load (needs `hey`).")] = True,
    seed: Seed = DEFAULT_SEED, out: Out = None, quick: Quick = False, json: Json = False,
) -> None:
    """Live benchmark on Ray: warm vs raw actor call, cold-start breakdown, gateway load, by-ref vs by-value chain."""
    from sysai.results import finish, prepare_out, write_csv
    from sysai.tables import print_table
    from yuanrong_lab.bench import run_bench

    folder = prepare_out(LAB, "bench", out)
    results = run_bench(address, num_cpus, quick, gateway)
    write_csv(folder / "chain.csv", results.chain_sizes)

    def show() -> None:
        b = results.cold_start_breakdown_ms
        rows = [
            ["raw Ray actor call p50 (ms)", results.raw_ray_actor_call_ms_p50],
            ["warm invoke p50 (ms)", results.warm_invoke_ms_p50],
            ["warm invoke p99 (ms)", results.warm_invoke_ms_p99],
            ["warm overhead over raw p50 (ms)", results.warm_overhead_ms_p50],
            ["cold start p50 (ms)", results.cold_start_ms_p50],
            *[[f"  cold: {k.removesuffix('_ms')} (ms)", v] for k, v in b.items() if k != "total_ms"],
            ["gateway req/s", results.gateway_rps],
            ["gateway p99 (ms)", results.gateway_p99_ms],
            *[[f"  gateway load: {k.replace('_', ' ')}", v] for k, v in results.gateway_driver.items()],
            *[[f"chain {c['payload_mb']:g} MB x{c['stages']}: by value / by ref (s)",
               f"{c['by_value_s']:.4f} / {c['by_reference_s']:.4f} ({c['speedup']:.1f}x)"] for c in results.chain_sizes],
        ]
        print_table("yuanrong live benchmark", ["measure", "value"], rows, note=results.gateway_load)

    finish(results, folder, json, show)


@app.command()
def serve(
    address: Address = None, num_cpus: NumCpus = None,
    port: Annotated[int, typer.Option("--port", help="Gateway port (0: any free port).")] = 8000,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; anything but loopback needs --token.")] = "127.0.0.1",
    token: Annotated[Optional[str], typer.Option("--token", envvar="SYSAI_YUANRONG_TOKEN", show_default=False,
                                                 help="Bearer token every request must carry (env SYSAI_YUANRONG_TOKEN).")] = None,
    functions_dir: Annotated[Optional[list[Path]], typer.Option("--functions", help="A folder whose modules may be registered "
                                                               "as functions (repeatable); nothing else outside the demos is.")] = None,
    demo: Annotated[bool, typer.Option("--demo/--no-demo", help="Register the demo functions (echo, sleep, fail, classify).")] = True,
    max_body: Annotated[int, typer.Option("--max-body", help="Largest request body in bytes (413 above).")] = 1 << 20,
) -> None:
    """Start Ray and the HTTP gateway; print the URL; Ctrl-C stops both."""
    import ipaddress
    import sys

    from sysai.http import run_until_interrupted
    from yuanrong_lab.allowlist import Allowlist
    from yuanrong_lab.gateway import make_app, register_demo
    from yuanrong_lab.runtime import session

    if max_body < 1:
        raise UserError(f"--max-body must be positive, got {max_body}")
    if not 0 <= port <= 65535:
        raise UserError(f"--port must be 0..65535, got {port}")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        raise UserError(f"--host must be an IP address or localhost, got {host!r}") from None
    if not loopback and not token:
        raise UserError(f"--host {host} would let anyone on the network run functions: give --token too")
    if token is not None and len(token) < 16:
        raise UserError("--token must be at least 16 characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe())'`)")
    allowlist = Allowlist.with_dirs(functions_dir or [])
    if not loopback:
        print(f"WARNING: the gateway listens on {host}:{port}, reachable from other machines; every request must "
              "carry 'Authorization: Bearer <token>'. Anyone with the token can run the allow-listed functions.",
              file=sys.stderr, flush=True)
    with session(address=address, num_cpus=num_cpus) as runtime:
        if demo:
            register_demo(runtime)
        run_until_interrupted(make_app(runtime, max_body, allowlist, token), host=host, port=port)


@app.command()
def invoke(
    name: Annotated[str, typer.Argument(help="Function name.")],
    data: Annotated[str, typer.Option("--data", help="JSON payload.")] = "null",
    url: Annotated[str, typer.Option("--url", help="Gateway URL (from `sysai yuanrong serve`).")] = "http://127.0.0.1:8000",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the answer.")] = 120.0,
    token: Annotated[Optional[str], typer.Option("--token", envvar="SYSAI_YUANRONG_TOKEN", show_default=False,
                                                 help="Bearer token of a gateway started with --token.")] = None,
    json: Json = False,
) -> None:
    """Invoke a function through a running gateway and print its result."""
    from yuanrong_lab.client import invoke as call

    try:
        payload = jsonlib.loads(data)
    except ValueError as exc:
        raise UserError(f"--data is not valid JSON: {exc}") from None
    if timeout <= 0:
        raise UserError(f"--timeout must be positive, got {timeout}")
    if not url.startswith(("http://", "https://")):
        raise UserError(f"--url must start with http:// or https://, got {url!r}")
    answer = call(url, name, payload, timeout, token)
    if json:
        print(jsonlib.dumps(answer))
    else:
        start = "cold" if answer.get("cold_start") else "warm"
        print(f"{jsonlib.dumps(answer.get('result'))}   ({start}, {answer.get('latency_ms', 0):.2f} ms)")
