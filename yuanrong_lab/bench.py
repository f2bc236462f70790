"""The live benchmark: every number side by side from one run on one Ray cluster.

* warm invoke through the runtime vs a raw Ray actor call (the runtime's own overhead);
* cold start p50 and its breakdown: actor start (scheduling + worker process), import of the
  function's module, the function's own init, and the rest (first call, result transfer);
* the HTTP gateway under a bounded loopback load from a real load tool (``hey``), with the CPU
  the driver process spends meanwhile (the gateway's event-loop thread vs the rest: Ray's
  core-worker threads, which also run the runtime's completion callbacks), and the same gateway
  answering a request that does not touch Ray (``GET /functions``) for comparison;
* a 4-stage data chain passing its payload by reference (object-store refs) vs by value
  (pickled through the caller at every hop), at several payload sizes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
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
    gateway_rps: float | None
    gateway_p99_ms: float | None
    gateway_load: str
    chain: dict[str, Any]
    chain_sizes: list[dict[str, Any]] = field(default_factory=list)
    gateway_driver: dict[str, float] = field(default_factory=dict)
    samples: dict[str, int] = field(default_factory=dict)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def warm_vs_raw(runtime: Any, calls: int) -> tuple[list[float], list[float]]:
    """Alternate blocks of raw actor calls and warm runtime calls so both see the same machine."""
    import ray

    from yuanrong_lab.runtime.worker import FunctionWorker

    runtime.register("bench-echo", "yuanrong_lab.functions:echo",
                     FunctionConfig(keepalive=KeepAliveConfig(policy="fixed", ttl_s=3600.0)))
    raw_actor = ray.remote(FunctionWorker).options(num_cpus=0.1).remote("yuanrong_lab.functions:echo", time.time())
    ray.get(raw_actor.ready.remote())
    runtime.get(runtime.invoke("bench-echo", 0))  # the cold start is not part of this measurement
    raw, warm = [], []
    block = max(10, calls // 10)
    for start in range(0, calls, block):
        for i in range(start, min(calls, start + block)):
            t = time.perf_counter()
            ray.get(raw_actor.call.remote(i))
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
    runtime.register(name, "yuanrong_lab.functions:Classifier", FunctionConfig(keepalive=KeepAliveConfig(policy="none")))
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
        runtime.register(name, "yuanrong_lab.functions:transform",
                         FunctionConfig(max_instances=stages, keepalive=KeepAliveConfig(policy="fixed", ttl_s=3600.0)))
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
    return {"payload_mb": size_bytes / 1e6, "stages": stages, "by_value_s": by_val, "by_reference_s": by_ref,
            "speedup": by_val / by_ref if by_ref > 0 else None}


def gateway_load(runtime: Any, seconds: float, connections: int) -> dict[str, Any]:
    """Serve the gateway on loopback and drive it with `hey` for a bounded time.

    Returns req/s and p99 of JSON-echo invocations; the driver's CPU meanwhile (100 % = one core):
    all of it, and the gateway's event-loop thread alone (the rest is Ray's threads, which run the
    completion callbacks, and the runtime's ticker); and req/s of ``GET /functions`` (HTTP only).
    """
    import threading

    from sysai.http import serve_in_thread
    from yuanrong_lab.gateway import make_app

    hey = shutil.which("hey")
    if hey is None:
        raise UserError("the gateway load needs `hey` (apt-get install hey), or run bench with --no-gateway")
    runtime.register("gw-echo", "yuanrong_lab.functions:echo",
                     FunctionConfig(concurrency=connections, max_instances=1,
                                    keepalive=KeepAliveConfig(policy="fixed", ttl_s=3600.0)))

    def load(url: str, *method: str) -> str:
        done = subprocess.run([hey, "-z", f"{seconds:g}s", "-c", str(connections), *method, url],
                              capture_output=True, text=True, timeout=seconds + 60)
        if done.returncode != 0:
            raise RuntimeError(f"hey failed: {done.stderr.strip()[-300:]}")
        return done.stdout

    with serve_in_thread(make_app(runtime)) as url:
        target = f"{url}/functions/gw-echo/invocations"
        post = ("-m", "POST", "-T", "application/json", "-d", json.dumps({"x": 1}))
        warmup = subprocess.run([hey, "-n", "50", "-c", "1", *post, target], capture_output=True, text=True, timeout=60)
        if warmup.returncode != 0:
            raise RuntimeError(f"hey failed: {warmup.stderr.strip()[-300:]}")
        loop_thread = next(t for t in threading.enumerate() if t.name.startswith("aiohttp-"))
        wall, cpu, loop_cpu = time.perf_counter(), time.process_time(), _thread_cpu_s(loop_thread.native_id)
        report = load(target, *post)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        loop_cpu = _thread_cpu_s(loop_thread.native_id) - loop_cpu
        plain_rps, _, _ = parse_hey(load(f"{url}/functions"))
    rps, p99, errors = parse_hey(report)
    if errors:
        raise RuntimeError(f"gateway answered errors under load: {errors}")
    return {"rps": rps, "p99_ms": p99, "how": f"hey -z {seconds:g}s -c {connections} (loopback, JSON echo)",
            "driver": {"driver_cpu_pct": 100 * cpu / wall, "event_loop_thread_cpu_pct": 100 * loop_cpu / wall,
                       "ray_and_other_threads_cpu_pct": 100 * (cpu - loop_cpu) / wall,
                       "no_ray_get_functions_rps": plain_rps}}


def _thread_cpu_s(native_id: int | None) -> float:
    """CPU seconds (user + system) of one thread of this process, from /proc (Linux); NaN elsewhere."""
    try:
        fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_hey(text: str) -> tuple[float, float, str]:
    """Requests/sec, p99 latency (ms) and any non-200 status lines from hey's text report."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"99%\s+in\s+([\d.]+)\s+secs", text)
    if not rps or not p99:
        raise RuntimeError(f"could not read hey's report: {text[-400:]}")
    statuses = re.findall(r"\[(\d{3})\]\s+(\d+)\s+responses", text)
    errors = ", ".join(f"{n} x {code}" for code, n in statuses if code != "200")
    return float(rps.group(1)), float(p99.group(1)) * 1e3, errors


def run_bench(address: str | None, num_cpus: int | None, quick: bool, gateway: bool = True) -> BenchResults:
    from yuanrong_lab.runtime import session

    calls = 300 if quick else 2000
    colds = 3 if quick else 10
    sizes = [1_000, 1_000_000, 10_000_000] if quick else [1_000, 1_000_000, 100_000_000]
    with session(address=address, num_cpus=num_cpus) as runtime:
        raw, warm = warm_vs_raw(runtime, calls)
        records = cold_starts(runtime, colds)
        chains = [chain(runtime, size, stages=4, repeats=1 if quick else 3) for size in sizes]
        load = gateway_load(runtime, 3.0 if quick else 10.0, 16) if gateway else {}
    breakdown = {k: statistics.median(r[k] for r in records)
                 for k in ("actor_start_ms", "import_ms", "init_ms", "other_ms", "total_ms")} if records else {}
    return BenchResults(
        raw_ray_actor_call_ms_p50=percentile(raw, 50), warm_invoke_ms_p50=percentile(warm, 50),
        warm_invoke_ms_p99=percentile(warm, 99), warm_overhead_ms_p50=percentile(warm, 50) - percentile(raw, 50),
        cold_start_ms_p50=breakdown.get("total_ms", float("nan")), cold_start_breakdown_ms=breakdown,
        gateway_rps=load.get("rps"), gateway_p99_ms=load.get("p99_ms"), gateway_load=load.get("how", "skipped"),
        gateway_driver=load.get("driver", {}), chain=chains[-1], chain_sizes=chains,
        samples={"warm_calls": len(warm), "raw_calls": len(raw), "cold_starts": len(records)},
    )
