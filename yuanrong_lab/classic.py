"""A classic FaaS platform, the baseline openYuanrong improves on (AWS Lambda / OpenWhisk style).

* **Process per cold start**: an instance is an OS process (a fresh Python interpreter that
  imports the function's module), started when a call finds no idle process; an idle process is
  kept for a fixed TTL and reused by later calls (warm). One call at a time per process.
* **Payloads through the gateway as JSON**: the caller POSTs JSON to an HTTP gateway, which writes
  it to the process's stdin and reads the JSON answer from its stdout.
* **Intermediates through a storage service**: functions cannot hand each other objects; a stage
  GETs its input from an HTTP object store (S3's role; here a local aiohttp server) and PUTs its
  output back, passing only the key on.

Everything is real: real processes, real HTTP on loopback, real bytes copied. Only our own
functions run here (`STAGES`); the gateway is for the benchmark, not exposed by the CLI. Every
process reads its stdin: when the parent dies, even by kill -9, the pipe closes and it exits.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:  # an instance process imports this module: keep its cold start to the function's own imports
    from aiohttp import web

# what the classic platform can run: our stage functions, by name
STAGES = {"echo": "yuanrong_lab.classic:echo", "transform": "yuanrong_lab.classic:transform_via_store"}


def echo(payload: Any) -> Any:
    return payload


def transform_via_store(payload: dict) -> dict:
    """One chain stage, the classic way: GET the input object, transform it, PUT the output."""
    import numpy as np

    with urllib.request.urlopen(f"{payload['store']}/objects/{payload['in']}", timeout=120) as resp:
        data = np.frombuffer(resp.read(), dtype=np.uint8)
    out = np.bitwise_xor(data, 0x5A).tobytes()
    request = urllib.request.Request(
        f"{payload['store']}/objects/{payload['out']}",
        data=out,
        method="PUT",
        headers={"Content-Type": "application/octet-stream"},
    )
    urllib.request.urlopen(request, timeout=120).close()
    return {"out": payload["out"], "bytes": len(out)}


# --- the object store --------------------------------------------------------------------------
def object_store_app() -> web.Application:
    from aiohttp import web

    objects: dict[str, bytes] = {}

    async def put(request: web.Request) -> web.Response:
        objects[request.match_info["key"]] = await request.read()
        return web.json_response({"stored": len(objects[request.match_info["key"]])}, status=201)

    async def get(request: web.Request) -> web.Response:
        data = objects.get(request.match_info["key"])
        if data is None:
            return web.json_response({"error": "no such object"}, status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    async def delete(request: web.Request) -> web.Response:
        objects.pop(request.match_info["key"], None)
        return web.json_response({})

    app = web.Application(client_max_size=1 << 30)
    app.router.add_put("/objects/{key}", put)
    app.router.add_get("/objects/{key}", get)
    app.router.add_delete("/objects/{key}", delete)
    return app


# --- processes and the gateway -------------------------------------------------------------------
class Process:
    """One instance: a Python process serving JSON lines on stdin/stdout."""

    def __init__(self, target: str):
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "yuanrong_lab.classic", target],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        ready = self.proc.stdout.readline()  # the module is imported: the cold start is over
        if ready.strip() != "ready":
            self.proc.kill()
            raise RuntimeError(f"classic instance for {target} did not start: {ready!r}")
        self.start_ms = (time.perf_counter() - started) * 1e3
        self.idle_since = time.monotonic()

    def call(self, payload: Any) -> Any:
        self.proc.stdin.write(json.dumps(payload) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["result"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class ClassicPlatform:
    """Idle processes per function, a fixed keep-alive TTL, a cold start whenever none is idle."""

    def __init__(self, ttl_s: float = 600.0):
        self.ttl_s = ttl_s
        self.idle: dict[str, list[Process]] = {name: [] for name in STAGES}
        self.all: list[Process] = []
        self.lock = threading.Lock()
        self.cold_starts = 0

    def call(self, name: str, payload: Any) -> tuple[Any, bool]:
        now = time.monotonic()
        with self.lock:
            pool = self.idle[name]
            while pool and now - pool[-1].idle_since > self.ttl_s:
                pool.pop().stop()
            proc = pool.pop() if pool else None
        cold = proc is None
        if cold:
            proc = Process(STAGES[name])
            with self.lock:
                self.all.append(proc)
                self.cold_starts += 1
        try:
            return proc.call(payload), cold
        finally:
            proc.idle_since = time.monotonic()
            with self.lock:
                self.idle[name].append(proc)

    def drop_idle(self, name: str) -> None:
        """Reclaim every idle process of `name` (the next call is cold)."""
        with self.lock:
            gone, self.idle[name] = self.idle[name], []
        for proc in gone:
            proc.stop()

    def close(self) -> None:
        with self.lock:
            procs, self.all = self.all, []
        for proc in procs:
            proc.stop()


def gateway_app(platform: ClassicPlatform) -> web.Application:
    from aiohttp import web

    async def invoke(request: web.Request) -> web.Response:
        import asyncio

        name = request.match_info["name"]
        if name not in STAGES:
            return web.json_response({"error": f"unknown function {name!r}"}, status=404)
        payload = await request.json()
        result, cold = await asyncio.get_running_loop().run_in_executor(None, platform.call, name, payload)
        return web.json_response({"result": result, "cold_start": cold})

    app = web.Application()
    app.router.add_post("/functions/{name}/invocations", invoke)
    return app


@contextmanager
def classic_platform(ttl_s: float = 600.0) -> Iterator[tuple[str, str, ClassicPlatform]]:
    """(gateway URL, object store URL, platform) on loopback; every process and server stopped on exit."""
    from sysai.http import serve_in_thread

    platform = ClassicPlatform(ttl_s)
    with ExitStack() as stack:
        stack.callback(platform.close)
        store = stack.enter_context(serve_in_thread(object_store_app()))
        gateway = stack.enter_context(serve_in_thread(gateway_app(platform)))
        yield gateway, store, platform


def post_json(url: str, body: Any, timeout: float = 300.0) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        return json.loads(resp.read())


def put_object(store: str, key: str, data: bytes) -> None:
    request = urllib.request.Request(
        f"{store}/objects/{key}", data=data, method="PUT", headers={"Content-Type": "application/octet-stream"}
    )
    urllib.request.urlopen(request, timeout=300).close()


def get_object(store: str, key: str) -> bytes:
    with urllib.request.urlopen(f"{store}/objects/{key}", timeout=300) as resp:
        return resp.read()


def _serve(target: str) -> None:
    """The instance process: import the target, say ready, answer one JSON line per call."""
    from yuanrong_lab.runtime.worker import load_target

    fn = load_target(target)
    print("ready", flush=True)
    for line in sys.stdin:
        try:
            answer = {"result": fn(json.loads(line))}
        except Exception as exc:  # the function's error goes back to the gateway, the process lives on
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    _serve(sys.argv[1])
