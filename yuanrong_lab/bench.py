"""The live benchmark: every number side by side from one run on one Ray cluster.

* warm invoke through the runtime vs a raw Ray actor call (the runtime's own overhead);
* cold start p50 and its breakdown: actor start (scheduling + worker process), import of the
  function's module, the function's own init, and the rest (first call, result transfer);
* the HTTP gateway under a bounded loopback load from a real load tool (``hey``), with the CPU
  the driver process spends meanwhile (the gateway's event-loop thread vs the rest: Ray's
  core-worker threads, which also run the runtime's completion callbacks), and the same gateway
  answering a request that does not touch Ray (``GET /functions``) for comparison;
* a 4-stage data chain passing its payload by reference (object-store refs) vs by value
  (pickled through the caller at every hop) vs a classic FaaS platform (process per cold start,
  JSON through its gateway, intermediates through an HTTP object store: :mod:`yuanrong_lab.classic`),
  at several payload sizes, and warm/cold HTTP calls through both gateways;
* two-level scheduling vs a node-blind pool vs plain Ray tasks on a 3-node ``ray.cluster_utils``
  cluster (:mod:`yuanrong_lab.placement`): chain latency and bytes moved between nodes.

Assumptions: one machine (loopback "network", nodes share its cores), a shared busy 2-core box
when measured for the docs; every figure is the median of the repeats shown in ``samples``.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sysai.errors import UserError
from yuanrong_lab.config import FunctionConfig
from yuanrong_lab.keepalive.base import KeepAliveConfig


@dataclass
class BenchResults:
    raw_ray_actor_call_ms_p50: float
    warm_invoke_ms_p50: float
    warm_invoke_ms_p99: float
    warm_overhead_ms_p50: float
    cold_start_ms_p50: float
    cold_start_breakdown_ms: dict[str, float]
    http_calls_ms: dict[str, float] = field(default_factory=dict)  # warm/cold p50 through each gateway
    gateway: dict[str, dict[str, Any]] = field(default_factory=dict)  # hey run → rps, p99_ms, non_2xx, instances
    chain_sizes: list[dict[str, Any]] = field(default_factory=list)
    placement: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, int] = field(default_factory=dict)
    note: str = ""


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


RAW_TIMEOUT_S = 60.0  # the raw actor's calls are bounded like the runtime's own (never a silent hang)


def warm_vs_raw(runtime: Any, calls: int) -> tuple[list[float], list[float]]:
    """Alternate blocks of raw actor calls and warm runtime calls so both see the same machine."""
    import ray

    from yuanrong_lab.runtime.worker import FunctionWorker

    runtime.register(
        "bench-echo",
        "yuanrong_lab.functions:echo",
        FunctionConfig(keepalive=KeepAliveConfig(policy="fixed", options={"ttl_s": 3600.0})),
    )
    raw_actor = ray.remote(FunctionWorker).options(num_cpus=0.1).remote("yuanrong_lab.functions:echo", time.time())
    ray.get(raw_actor.ready.remote(), timeout=RAW_TIMEOUT_S)
    runtime.get(runtime.invoke("bench-echo", 0))  # the cold start is not part of this measurement
    raw, warm = [], []
    block = max(10, calls // 10)
    for start in range(0, calls, block):
        for i in range(start, min(calls, start + block)):
            t = time.perf_counter()
            ray.get(raw_actor.call.remote(i), timeout=RAW_TIMEOUT_S)
            raw.append((time.perf_counter() - t) * 1e3)
        for i in range(start, min(calls, start + block)):
            t = time.perf_counter()
            runtime.get(runtime.invoke("bench-echo", i))
            warm.append((time.perf_counter() - t) * 1e3)
    ray.kill(raw_actor)
    return raw, warm


def cold_starts(runtime: Any, count: int) -> list[dict[str, float]]:
    """`count` cold starts of a function with a real init (keep-alive none: every call is cold)."""
    name = "bench-classify"
    runtime.register(
        name, "yuanrong_lab.functions:Classifier", FunctionConfig(keepalive=KeepAliveConfig(policy="none"))
    )
    for _ in range(count):
        runtime.get(runtime.invoke(name, {"x": [1.0, 2.0]}))
        time.sleep(0.05)  # let the instance go before the next call
    deadline = time.time() + 10
    fn = runtime.functions[name]
    while time.time() < deadline and not all("init_ms" in r and "total_ms" in r for r in fn.cold_starts.values()):
        time.sleep(0.05)
    records = [dict(r) for r in fn.cold_starts.values() if "init_ms" in r and "total_ms" in r]
    runtime.unregister(name)
    for r in records:
        r["other_ms"] = max(0.0, r["total_ms"] - r["actor_start_ms"] - r["import_ms"] - r["init_ms"])
    return records


def chain(runtime: Any, size_bytes: int, stages: int, repeats: int) -> dict[str, Any]:
    """A chain of `stages` transforms over a payload, by reference and by value; median seconds."""
    import ray

    from yuanrong_lab.functions import checksum, source

    name = "bench-transform"
    if name not in runtime.functions:
        runtime.register(
            name,
            "yuanrong_lab.functions:transform",
            FunctionConfig(max_instances=stages, keepalive=KeepAliveConfig(policy="fixed", options={"ttl_s": 3600.0})),
        )
        runtime.get(runtime.invoke(name, np.zeros(8, dtype=np.uint8)))
    payload = source(size_bytes)
    times: dict[str, list[float]] = {"by_reference": [], "by_value": []}
    sums = set()
    for _ in range(repeats):
        t = time.perf_counter()
        ref = ray.put(payload)
        for _ in range(stages):
            ref = runtime.submit(name, (ref,)).ref
        out = runtime.get(ref)
        times["by_reference"].append(time.perf_counter() - t)
        sums.add(checksum(out))
        del out, ref
        t = time.perf_counter()
        value = payload
        for _ in range(stages):
            value = runtime.get(runtime.submit(name, (value,), by_value=True).ref)
        times["by_value"].append(time.perf_counter() - t)
        sums.add(checksum(value))
        del value
    if len(sums) != 1:
        raise RuntimeError("by-value and by-reference chains disagree on the result")
    by_ref, by_val = statistics.median(times["by_reference"]), statistics.median(times["by_value"])
    return {
        "payload_mb": size_bytes / 1e6,
        "stages": stages,
        "by_value_s": by_val,
        "by_reference_s": by_ref,
        "speedup": by_val / by_ref if by_ref > 0 else None,
    }


def gateway_load(runtime: Any, seconds: float, connections: int = 16) -> dict[str, dict[str, Any]]:
    """`serve`'s demo echo behind the gateway, driven by ``hey -c 16`` twice: from zero instances
    (the autoscaler must scale out during the run) and warm. Non-2xx answers are counted, not hidden."""
    from sysai.http import serve_in_thread
    from yuanrong_lab.gateway import make_app, register_demo

    hey = shutil.which("hey")
    if hey is None:
        raise UserError("the gateway load needs `hey` (apt-get install hey), or run bench with --no-gateway")
    if "echo" not in runtime.functions:
        register_demo(runtime)
    post = ["-m", "POST", "-T", "application/json", "-d", json.dumps({"x": 1})]
    runs: dict[str, dict[str, Any]] = {}
    with serve_in_thread(make_app(runtime)) as url:
        for run in ("from zero", "warm"):
            done = subprocess.run(
                [hey, "-z", f"{seconds:g}s", "-c", str(connections), *post, f"{url}/functions/echo/invocations"],
                capture_output=True,
                text=True,
                timeout=seconds + 60,
            )
            if done.returncode != 0:
                raise RuntimeError(f"hey failed: {done.stderr.strip()[-300:]}")
            rps, p99, errors = parse_hey(done.stdout)
            runs[run] = {
                "rps": rps,
                "p99_ms": p99,
                "non_2xx": sum(int(n) for n in re.findall(r"(\d+) x", errors)),
                "instances": len(runtime.functions["echo"].pool.instances),
            }
    return runs


def http_calls(runtime: Any, platform_urls: tuple[str, Any], calls: int) -> dict[str, float]:
    """p50 of warm and cold JSON calls of an echo through our gateway and the classic one."""
    from sysai.http import serve_in_thread
    from yuanrong_lab.classic import post_json
    from yuanrong_lab.gateway import make_app

    classic_url, platform = platform_urls
    runtime.register("http-warm", "yuanrong_lab.functions:echo", FunctionConfig())
    runtime.register(
        "http-cold", "yuanrong_lab.functions:echo", FunctionConfig(keepalive=KeepAliveConfig(policy="none"))
    )
    times: dict[str, list[float]] = {"yuanrong_warm": [], "yuanrong_cold": [], "classic_warm": [], "classic_cold": []}

    def timed(key: str, url: str) -> dict:
        t = time.perf_counter()
        answer = post_json(url, {"x": 1})
        times[key].append((time.perf_counter() - t) * 1e3)
        return answer

    with serve_in_thread(make_app(runtime)) as url:
        timed("yuanrong_warm", f"{url}/functions/http-warm/invocations")
        timed("classic_warm", f"{classic_url}/functions/echo/invocations")
        times["yuanrong_warm"].clear(), times["classic_warm"].clear()
        for _ in range(calls):  # alternate, so both paths see the same machine
            timed("yuanrong_warm", f"{url}/functions/http-warm/invocations")
            timed("classic_warm", f"{classic_url}/functions/echo/invocations")
        for _ in range(max(2, calls // 20)):
            time.sleep(0.3)  # keep-alive none: the instance is gone before the next call
            assert timed("yuanrong_cold", f"{url}/functions/http-cold/invocations")["cold_start"]
            platform.drop_idle("echo")
            assert timed("classic_cold", f"{classic_url}/functions/echo/invocations")["cold_start"]
    return {f"{k}_p50": statistics.median(v) for k, v in times.items()}


def classic_chain(urls: tuple[str, str], payload: np.ndarray, stages: int) -> tuple[float, int]:
    """The same chain on the classic platform: PUT the input, one gateway POST per stage (keys in
    JSON), GET the output. Seconds and the result's checksum."""
    from yuanrong_lab.classic import get_object, post_json, put_object
    from yuanrong_lab.functions import checksum

    gateway, store = urls
    t = time.perf_counter()
    put_object(store, "chain-0", payload.tobytes())
    for i in range(stages):
        post_json(
            f"{gateway}/functions/transform/invocations", {"store": store, "in": f"chain-{i}", "out": f"chain-{i + 1}"}
        )
    out = np.frombuffer(get_object(store, f"chain-{stages}"), dtype=np.uint8)
    return time.perf_counter() - t, checksum(out)


def parse_hey(text: str) -> tuple[float, float, str]:
    """Requests/sec, p99 latency (ms) and any non-200 status lines from hey's text report."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"99%\s+in\s+([\d.]+)\s+secs", text)
    if not rps or not p99:
        raise RuntimeError(f"could not read hey's report: {text[-400:]}")
    statuses = re.findall(r"\[(\d{3})\]\s+(\d+)\s+responses", text)
    errors = ", ".join(f"{n} x {code}" for code, n in statuses if code != "200")
    return float(rps.group(1)), float(p99.group(1)) * 1e3, errors


def run_bench(
    address: str | None, cpus: int | None, quick: bool, gateway: bool = True, cluster: bool = True, seed: int = 42
) -> BenchResults:
    from yuanrong_lab.classic import classic_platform
    from yuanrong_lab.functions import checksum, source
    from yuanrong_lab.runtime import session

    calls = 300 if quick else 2000
    colds = 3 if quick else 10
    sizes = [1_000, 1_000_000, 10_000_000] if quick else [1_000, 1_000_000, 100_000_000]
    repeats = 1 if quick else 3
    with session(address=address, num_cpus=cpus) as runtime, classic_platform() as (classic_gw, store, platform):
        raw, warm = warm_vs_raw(runtime, calls)
        records = cold_starts(runtime, colds)
        http = http_calls(runtime, (classic_gw, platform), 40 if quick else 200)
        classic_chain((classic_gw, store), source(1_000), 4)  # its stage's process starts here, not in the timing
        chains = []
        for size in sizes:
            row = chain(runtime, size, stages=4, repeats=repeats)
            payload = source(size)
            classic_runs = [classic_chain((classic_gw, store), payload, 4) for _ in range(repeats)]
            if any(c != checksum(payload) for _, c in classic_runs):  # 4 xors with the same byte: the input
                raise RuntimeError("the classic chain computed a different result")
            row["classic_faas_s"] = statistics.median(t for t, _ in classic_runs)
            row["classic_over_by_reference"] = row["classic_faas_s"] / row["by_reference_s"]
            chains.append(row)
        load = gateway_load(runtime, 3.0 if quick else 8.0) if gateway else {}
    placement: dict[str, Any] = {}
    if cluster and address is None:
        from yuanrong_lab.placement import run_placement

        size = 10_000_000 if quick else 100_000_000
        pl = run_placement(size, stages=4, chains=3, repeats=1 if quick else 3, seed=seed)
        placement = {f"{policy} {k}": v for policy, row in pl.policies.items() for k, v in row.items()}
        placement["payload_mb"] = pl.payload_mb
    breakdown = (
        {
            k: statistics.median(r[k] for r in records)
            for k in ("actor_start_ms", "import_ms", "init_ms", "other_ms", "total_ms")
        }
        if records
        else {}
    )
    return BenchResults(
        raw_ray_actor_call_ms_p50=percentile(raw, 50),
        warm_invoke_ms_p50=percentile(warm, 50),
        warm_invoke_ms_p99=percentile(warm, 99),
        warm_overhead_ms_p50=percentile(warm, 50) - percentile(raw, 50),
        cold_start_ms_p50=breakdown.get("total_ms", float("nan")),
        cold_start_breakdown_ms=breakdown,
        http_calls_ms=http,
        gateway=load,
        chain_sizes=chains,
        placement=placement,
        samples={"warm_calls": len(warm), "raw_calls": len(raw), "cold_starts": len(records), "chain_repeats": repeats},
        note="gateway: hey -z {}s -c 16 against serve's demo echo, from zero instances then warm".format(
            3 if quick else 8
        )
        if gateway
        else "gateway load skipped",
    )
