"""`sysai yuanrong ...`: the lab's commands — parse, call experiments/bench/report, print.

Heavy imports (Ray, SimPy, matplotlib) stay inside the commands, so `sysai --help` stays fast."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Annotated, Optional

import typer

from sysai.errors import UserError
from sysai.options import DEFAULT_SEED, Cpus, Json, Out, Plugin, Port, Quick, Seed, Url, load_plugins

LAB = "yuanrong"
app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="openYuanrong-style serverless functions on Ray.",
)

Address = Annotated[
    Optional[str], typer.Option("--address", help="An existing Ray cluster (default: start a local one).")
]
PolicyNames = Annotated[
    Optional[list[str]],
    typer.Option(
        "--policy",
        help="Only these keep-alive policies (repeatable; default: every policy registered as a default, "
        "see `sysai plugins yuanrong`), each with its sweep of variants.",
        show_default=False,
    ),
]


@app.command()
def keepalive(
    functions: Annotated[int, typer.Option("--functions", help="Functions in the synthetic workload.")] = 300,
    hours: Annotated[float, typer.Option("--hours", help="Simulated hours.")] = 72.0,
    trace: Annotated[
        Optional[Path], typer.Option("--trace", help="Azure Functions 2019 invocations CSV instead of the generator.")
    ] = None,
    policy: PolicyNames = None,
    cold_start_s: Annotated[float, typer.Option("--cold-start-s", help="Simulated cold-start delay (s).")] = 0.5,
    plugin: Plugin = None,
    seed: Seed = DEFAULT_SEED,
    out: Out = None,
    quick: Quick = False,
    json: Json = False,
) -> None:
    """Simulate keep-alive policies at trace scale (SimPy): cold starts vs idle memory, Pareto plot."""
    from sysai.results import finish, prepare_out
    from yuanrong_lab import experiments, report

    load_plugins(plugin)
    results = experiments.keepalive(functions, hours, trace, policy, cold_start_s, seed, quick)
    folder = prepare_out(LAB, "keepalive", out)
    report.write_keepalive(results, folder)
    finish(results, folder, json, lambda: report.show_keepalive(results))


@app.command()
def autoscale(
    burst_rps: Annotated[float, typer.Option("--burst-rps", help="Arrival rate during the burst (calls/s).")] = 40.0,
    max_instances: Annotated[int, typer.Option("--max-instances", help="Instance cap.")] = 20,
    central_queue: Annotated[
        bool,
        typer.Option(
            "--central-queue/--instance-queue",
            help="Waiting calls share one queue (as at the gateway) or queue behind one instance (Python API).",
        ),
    ] = True,
    seed: Seed = DEFAULT_SEED,
    out: Out = None,
    quick: Quick = False,
    json: Json = False,
) -> None:
    """Simulate a burst against one function under autoscaler settings (windows, burst mode)."""
    from sysai.results import finish, prepare_out
    from yuanrong_lab import experiments, report

    results = experiments.autoscale(burst_rps, max_instances, seed, quick, central_queue)
    folder = prepare_out(LAB, "autoscale", out)
    report.write_autoscale(results, folder)
    finish(results, folder, json, lambda: report.show_autoscale(results))


@app.command()
def bench(
    address: Address = None,
    cpus: Cpus = None,
    gateway: Annotated[
        bool, typer.Option("--gateway/--no-gateway", help="Include the HTTP load (needs `hey`).")
    ] = True,
    cluster: Annotated[
        bool, typer.Option("--cluster/--no-cluster", help="Include the 3-node placement comparison.")
    ] = True,
    seed: Seed = DEFAULT_SEED,
    out: Out = None,
    quick: Quick = False,
    json: Json = False,
) -> None:
    """Live benchmark on Ray: warm vs raw actor call, cold starts, gateway under hey, chain by
    reference vs classic FaaS, two-level vs default placement on a 3-node cluster."""
    from sysai.results import finish, prepare_out, write_csv
    from yuanrong_lab import report
    from yuanrong_lab.bench import run_bench

    folder = prepare_out(LAB, "bench", out)
    results = run_bench(address, cpus, quick, gateway, cluster, seed)
    write_csv(folder / "chain.csv", results.chain_sizes)
    finish(results, folder, json, lambda: report.show_bench(results))


@app.command()
def serve(
    address: Address = None,
    cpus: Cpus = None,
    port: Port = 8000,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; anything but loopback needs --token.")
    ] = "127.0.0.1",
    token: Annotated[
        Optional[str],
        typer.Option(
            "--token",
            envvar="SYSAI_YUANRONG_TOKEN",
            show_default=False,
            help="Bearer token every request must carry (env SYSAI_YUANRONG_TOKEN).",
        ),
    ] = None,
    functions_dir: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--functions",
            help="A folder whose modules may be registered "
            "as functions (repeatable); nothing else outside the demos is.",
        ),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo/--no-demo", help="Register the demo functions (echo, sleep, fail, classify).")
    ] = True,
    max_body: Annotated[int, typer.Option("--max-body", help="Largest request body in bytes (413 above).")] = 1 << 20,
    plugin: Plugin = None,
) -> None:
    """Start Ray and the HTTP gateway; print the URL; Ctrl-C stops both."""
    import ipaddress
    import sys

    from sysai.http import run_until_interrupted
    from yuanrong_lab.allowlist import Allowlist
    from yuanrong_lab.gateway import make_app, register_demo
    from yuanrong_lab.runtime import session

    load_plugins(plugin)  # a keep-alive policy file: functions may then name it in their config
    if max_body < 1:
        raise UserError(f"--max-body must be positive, got {max_body}")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        raise UserError(f"--host must be an IP address or localhost, got {host!r}") from None
    if not loopback and not token:
        raise UserError(f"--host {host} would let anyone on the network run functions: give --token too")
    if token is not None and len(token) < 16:
        raise UserError(
            "--token must be at least 16 characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe())'`)"
        )
    allowlist = Allowlist.with_dirs(functions_dir or [])
    if not loopback:
        print(
            f"WARNING: the gateway listens on {host}:{port}, reachable from other machines; every request must "
            "carry 'Authorization: Bearer <token>'. Anyone with the token can run the allow-listed functions.",
            file=sys.stderr,
            flush=True,
        )
    with session(address=address, num_cpus=cpus) as runtime:
        if demo:
            register_demo(runtime)
        run_until_interrupted(make_app(runtime, max_body, allowlist, token), host=host, port=port)


@app.command()
def invoke(
    name: Annotated[str, typer.Argument(help="Function name.")],
    data: Annotated[str, typer.Option("--data", help="JSON payload.")] = "null",
    url: Url = "http://127.0.0.1:8000",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the answer.")] = 120.0,
    token: Annotated[
        Optional[str],
        typer.Option(
            "--token",
            envvar="SYSAI_YUANRONG_TOKEN",
            show_default=False,
            help="Bearer token of a gateway started with --token.",
        ),
    ] = None,
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
    answer = call(url, name, payload, timeout, token)
    if json:
        print(jsonlib.dumps(answer))
    else:
        start = "cold" if answer.get("cold_start") else "warm"
        print(f"{jsonlib.dumps(answer.get('result'))}   ({start}, {answer.get('latency_ms', 0):.2f} ms)")
