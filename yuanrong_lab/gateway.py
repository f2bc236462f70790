"""The HTTP function service (aiohttp), modelled on openYuanrong's function system front end.

    POST   /functions                     {"name", "target": "pkg.module:fn", "config": {...}} → 201
    GET    /functions                     registered functions with config and counts
    POST   /functions/{name}/invocations  JSON body → {"result", "cold_start", "latency_ms"} (sync)
    DELETE /functions/{name}              stop its instances and forget it
    GET    /metrics                       Prometheus text: invocations, cold starts and their parts, latency
                                          histograms, instances, idle memory-time

Errors are JSON ``{"error": "..."}``: unknown function 404, invalid JSON or config 400, a body
over the limit 413, a function that raised 500 (with its message), a call over the function's
timeout 504 (its instance is stopped), a call that waited in the queue past the function's
``queue_timeout_s`` 503 (no instance was touched), an instance lost twice (node failure) 503.
No request, and no function, can take the gateway down.

Secure by default (see :mod:`yuanrong_lab.allowlist` for why):

* only allow-listed code can be registered (403 otherwise);
* every POST must say ``Content-Type: application/json`` (415 otherwise): the content types a web
  page may send cross-origin without a CORS preflight (``text/plain``, forms) are refused;
* a write carrying a cross-origin ``Origin`` header is refused (403); the gateway sends no CORS
  headers, so a browser never lets another site read an answer either;
* without a token the gateway listens on loopback and accepts only a loopback ``Host`` header
  (a DNS-rebinding page names its own host); with ``token`` every request needs
  ``Authorization: Bearer <token>`` (401 otherwise) — required for any non-loopback ``--host``.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from sysai.config import from_mapping
from sysai.errors import TaskNotDone, UserError
from sysai.http import readable_json
from yuanrong_lab.allowlist import Allowlist, Malformed, Refused
from yuanrong_lab.config import FunctionConfig
from yuanrong_lab.runtime.core import (
    FunctionError,
    FunctionTimeout,
    InstanceLost,
    QueueTimeout,
    Runtime,
    UnknownFunction,
)

DEFAULT_MAX_BODY = 1 << 20  # 1 MiB, like many FaaS gateways' synchronous payload limits (AWS: 6 MB)

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")  # one URL path segment, a clean metric label

RUNTIME = web.AppKey("runtime", Runtime)
MAX_BODY = web.AppKey("max_body", int)
ALLOW = web.AppKey("allowlist", Allowlist)
TOKEN = web.AppKey("token", str)

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, dumps=readable_json)


@web.middleware
async def _never_crash(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return _error(exc.status, exc.reason)
        raise
    except Exception as exc:  # a bug here must cost one request, not the gateway
        return _error(500, f"gateway error: {type(exc).__name__}: {exc}")


def _host_name(host: str) -> str:
    """'127.0.0.1:8000' → '127.0.0.1'; '[::1]:8000' → '::1'."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@web.middleware
async def _guard(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refuse what a browser page (cross-origin, DNS rebinding) or a stranger on the network sends."""
    token = request.app[TOKEN]
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return web.json_response(
                {"error": "this gateway needs 'Authorization: Bearer <token>'"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
    elif _host_name(request.host) not in LOOPBACK_HOSTS:
        return _error(403, f"Host {request.host!r} is not loopback: this gateway serves 127.0.0.1 only")
    if request.method not in ("GET", "HEAD"):
        origin = request.headers.get("Origin")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or parts.netloc != request.host:
                return _error(403, f"cross-origin write refused (Origin {origin!r})")
        if request.method == "POST" and request.content_type != "application/json":
            return _error(415, f"expected Content-Type: application/json, got {request.content_type!r}")
    return await handler(request)


async def _json_body(request: web.Request) -> Any:
    limit = request.app[MAX_BODY]
    if request.content_length is not None and request.content_length > limit:
        raise _Reply(413, f"payload of {request.content_length} bytes is over the {limit}-byte limit")
    try:
        body = await request.read()  # aiohttp enforces client_max_size for chunked bodies too
    except web.HTTPRequestEntityTooLarge:
        raise _Reply(413, f"payload is over the {limit}-byte limit") from None
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Reply(400, f"invalid JSON: {exc}") from None


class _Reply(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _handles_replies(handler: Any) -> Any:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except _Reply as reply:
            return _error(reply.status, reply.message)

    return wrapped


@_handles_replies
async def register(request: web.Request) -> web.Response:
    body = await _json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not isinstance(body.get("target"), str):
        return _error(400, 'expected {"name": "...", "target": "package.module:function", "config": {...}}')
    unknown = set(body) - {"name", "target", "config"}
    if unknown:
        return _error(400, f"unknown key(s): {', '.join(sorted(unknown))}")
    if not NAME.fullmatch(body["name"]):
        return _error(400, f"function name {body['name']!r}: use letters, digits, '_', '.', '-' (at most 128)")
    runtime = request.app[RUNTIME]
    if body["name"] in runtime.functions:
        return _error(409, f"function {body['name']!r} is already registered")
    try:
        target = request.app[ALLOW].resolve(body["target"])
    except Refused as exc:
        return _error(403, str(exc))
    except Malformed as exc:
        return _error(400, str(exc))
    try:
        config = from_mapping(FunctionConfig, body.get("config"), "config")
        runtime.register(body["name"], target, config)
    except UserError as exc:
        return _error(400, str(exc))
    return web.json_response(_describe(runtime, body["name"]), status=201)


async def list_functions(request: web.Request) -> web.Response:
    return web.json_response({"functions": request.app[RUNTIME].describe()})


@_handles_replies
async def invoke(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    runtime = request.app[RUNTIME]
    if name not in runtime.functions:
        return _error(404, f"unknown function {name!r}")
    payload = await _json_body(request)
    started = time.perf_counter()
    try:
        result, call = await runtime.call_async(name, payload)
    except UnknownFunction:
        return _error(404, f"unknown function {name!r}")
    except TaskNotDone as exc:  # a handout: the call path needs a graded task
        return _error(501, exc.message)  # not str(): from a Ray actor it is the remote traceback
    except QueueTimeout as exc:
        return web.json_response({"error": str(exc)}, status=503, headers={"Retry-After": "1"})
    except FunctionTimeout as exc:
        return _error(504, str(exc))
    except FunctionError as exc:
        return _error(500, f"function {name!r} failed: {exc}")
    except InstanceLost as exc:
        return _error(503, f"function {name!r}: {exc}")
    except Exception as exc:  # the instance died, Ray lost it, ...
        return _error(500, f"function {name!r} failed: {type(exc).__name__}: {exc}")
    try:
        return web.json_response(
            {"result": result, "cold_start": call.cold, "latency_ms": (time.perf_counter() - started) * 1e3}
        )
    except (TypeError, ValueError) as exc:
        return _error(500, f"function {name!r} returned a value that is not JSON: {exc}")


async def delete(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    try:
        request.app[RUNTIME].unregister(name)
    except UnknownFunction:
        return _error(404, f"unknown function {name!r}")
    return web.json_response({"deleted": name})


async def metrics(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    return web.Response(
        text=runtime.metrics.render(runtime.gauges()),
        content_type="text/plain",
        headers={"X-Prometheus-Format": "0.0.4"},
    )


def _describe(runtime: Runtime, name: str) -> dict[str, Any]:
    return next(f for f in runtime.describe() if f["name"] == name)


def make_app(
    runtime: Runtime, max_body: int = DEFAULT_MAX_BODY, allowlist: Allowlist | None = None, token: str | None = None
) -> web.Application:
    app = web.Application(middlewares=[_never_crash, _guard], client_max_size=max_body)
    app[RUNTIME] = runtime
    app[MAX_BODY] = max_body
    app[ALLOW] = allowlist or Allowlist()
    app[TOKEN] = token or ""
    app.router.add_post("/functions", register)
    app.router.add_get("/functions", list_functions)
    app.router.add_post("/functions/{name}/invocations", invoke)
    app.router.add_delete("/functions/{name}", delete)
    app.router.add_get("/metrics", metrics)
    return app


DEMO_FUNCTIONS = {
    "echo": "yuanrong_lab.functions:echo",
    "sleep": "yuanrong_lab.functions:sleep",
    "fail": "yuanrong_lab.functions:fail",
    "classify": "yuanrong_lab.functions:Classifier",
}


# echo carries no state and does no work: 4 calls at once per instance (openYuanrong's
# concurrentNum) means fewer worker processes on a small machine; the others keep the default 1
DEMO_CONFIG = {"echo": {"concurrency": 4, "max_instances": 4}}


def register_demo(runtime: Runtime) -> None:
    for name, target in DEMO_FUNCTIONS.items():
        runtime.register(name, target, FunctionConfig(timeout_s=5.0, **DEMO_CONFIG.get(name, {})))
