"""The routing proxy: OpenAI-compatible in front, any OpenAI-compatible backends behind.

It routes with the **same policy objects** as the simulator. Per backend it keeps a load signal,
refreshed every ``refresh_s`` — a snapshot that is stale between polls, exactly like the
simulator's ``--refresh``:

* from ``GET /metrics``, the Prometheus text a real vLLM serves: ``vllm:num_requests_running``,
  ``vllm:num_requests_waiting`` and ``vllm:kv_cache_usage_perc`` (or the older
  ``vllm:gpu_cache_usage_perc``); outstanding tokens come from the proxy's own books (vLLM does
  not export them). So the proxy works unchanged in front of vLLM;
* from ``GET /load`` where a backend has it (the mock engines: the same numbers plus outstanding
  tokens, as JSON — a fast path, tried first);
* from the proxy's own books alone when a backend offers neither, or its ``/metrics`` cannot be
  parsed (logged once): requests in flight, their prompt tokens until the first byte, predicted
  decode tokens left.

Prefix-aware policies see each request's prompt hashed into blocks of ``block_size`` words
(:func:`~llm_la_lab.live.openai_api.text_keys`); the backends do not report their caches, so such
policies use their approximate, router-side index (as llm-d's approximate prefix scorer does).
Every reply that comes back is reported to the policy (:meth:`Policy.completed`): pull policies
count outstanding requests exactly.

Requests wait in a central queue ordered by ``policy.order`` while the policy returns None.
Failures: a backend that refuses the connection, times out or answers 5xx before the proxy has
forwarded any byte is marked down (polls bring it back) and the request is retried once on
another backend; with none left the client gets 503, after a failed retry 502 — each with a
message. A stream cut mid-way ends with an SSE error event. Nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from dataclasses import dataclass, field

import logging

import aiohttp
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from llm_la_lab.live import DEFAULT_PROXY_POLICY
from llm_la_lab.live.openai_api import (CHAT, COMPLETIONS, PREDICTED_HEADER, error, json_errors, parse_body,
                                        prompt_words, sse, text_keys)
from llm_la_lab.load import LoadSignal
from llm_la_lab.policies.base import Policy
from llm_la_lab.predictors.base import Predictor
from llm_la_lab.request import Request

FALLBACK_CAPACITY = 256
FALLBACK_KV_TOKENS = 10**9
BLOCK_WORDS = 16  # vLLM's default KV block size: prompts are hashed in blocks of this many words
log = logging.getLogger("llm_la_lab.proxy")


def parse_vllm_metrics(text: str) -> tuple[int, int, float]:
    """(running, waiting, KV use in [0, 1]) from vLLM's Prometheus text; ValueError if they are not there."""
    values: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                values[sample.name] = values.get(sample.name, 0.0) + float(sample.value)
    except Exception as exc:  # the parser raises ValueError, TypeError or IndexError on bad text
        raise ValueError(f"not Prometheus text ({type(exc).__name__}: {exc})") from None
    kv = values.get("vllm:kv_cache_usage_perc", values.get("vllm:gpu_cache_usage_perc"))
    missing = [n for n in ("vllm:num_requests_running", "vllm:num_requests_waiting") if n not in values]
    if missing or kv is None:
        raise ValueError(f"no {', '.join(missing) or 'vllm:kv_cache_usage_perc'} in it")
    return int(values["vllm:num_requests_running"]), int(values["vllm:num_requests_waiting"]), float(kv)


class BackendFailed(Exception):
    pass


class PolicyFailed(Exception):
    """The routing policy raised or chose a backend it was not offered (a bug in a student's policy)."""


class ClientGone(Exception):
    """The client hung up mid-stream: not the backend's fault (closing the upstream aborts it)."""


async def _to_client(step) -> None:
    try:
        await step
    except ConnectionError:
        raise ClientGone from None


@dataclass
class Backend:
    index: int
    url: str
    healthy: bool = True
    polled: LoadSignal | None = None
    has_load: bool = True
    has_metrics: bool = True
    scraped: tuple[int, int, float] | None = None  # (running, waiting, KV use) from the last good /metrics
    warned: bool = False
    version: int = 0
    inflight: dict[int, list[int]] = field(default_factory=dict)  # request id -> [prompt, predicted, tokens seen]
    routed: int = 0
    failures: int = 0

    def signal(self, now: float) -> LoadSignal:
        if self.polled is not None and self.has_load:
            return self.polled
        outstanding = sum((p if seen == 0 else 0) + max(pred - seen, 0) for p, pred, seen in self.inflight.values())
        if self.scraped is not None:
            running, waiting, kv = self.scraped
            return LoadSignal(self.index, self.version, now, running + waiting, waiting, outstanding, kv,
                              FALLBACK_KV_TOKENS, FALLBACK_CAPACITY)
        return LoadSignal(self.index, self.version, now, len(self.inflight), 0, outstanding, 0.0, FALLBACK_KV_TOKENS,
                          FALLBACK_CAPACITY)

    @property
    def source(self) -> str:
        """Where this backend's load signal comes from now."""
        return "load" if self.has_load else "metrics" if self.scraped is not None else "own books"

    def touch(self) -> None:
        self.version += 1


@dataclass
class Stats:
    requests: int = 0
    retries: int = 0
    rejected_503: int = 0
    failed_502: int = 0
    cut_streams: int = 0
    client_errors: int = 0
    client_disconnects: int = 0
    policy_errors: int = 0
    polls: int = 0  # completed rounds of polling every backend
    first_poll: float = 0.0  # time.monotonic() of the first and the latest round
    last_poll: float = 0.0

    @property
    def poll_interval_s(self) -> float:
        """The refresh interval actually achieved: ``refresh_s`` plus the polls' own round trips and the
        event loop's lag. On a busy machine this is what makes live signals staler than simulated ones."""
        return (self.last_poll - self.first_poll) / (self.polls - 1) if self.polls > 1 else float("nan")


class Proxy:
    def __init__(self, backends: list[str], policy: Policy, predictor: Predictor, refresh_s: float = 0.05,
                 queue_timeout_s: float = 120.0, request_timeout_s: float = 600.0):
        if not backends:
            raise ValueError("the proxy needs at least one backend URL")
        self.backends = [Backend(i, url.rstrip("/")) for i, url in enumerate(backends)]
        self.policy = policy
        self.predictor = predictor
        self.refresh_s = refresh_s
        self.queue_timeout_s = queue_timeout_s
        self.request_timeout_s = request_timeout_s
        self.queue: list = []
        self.ids = itertools.count()
        self.stats = Stats()
        self.session: aiohttp.ClientSession | None = None
        self.poller: asyncio.Task | None = None

    # --- lifecycle ------------------------------------------------------------------------------
    async def start(self, app: web.Application) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=2.0))
        await self.poll_once()
        self.poller = asyncio.get_running_loop().create_task(self.poll_forever())

    async def stop(self, app: web.Application) -> None:
        if self.poller is not None:
            self.poller.cancel()
        for _, _, _, (_, _, future) in self.queue:
            if not future.done():
                future.set_result(None)
        if self.session is not None:
            await self.session.close()

    # --- load signals ---------------------------------------------------------------------------
    async def poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            await self.poll_once()

    async def poll_once(self) -> None:
        await asyncio.gather(*(self._poll(b) for b in self.backends))
        stats, now = self.stats, time.monotonic()
        stats.polls += 1
        stats.first_poll = stats.first_poll or now
        stats.last_poll = now
        self.dispatch()

    async def _poll(self, backend: Backend) -> None:
        timeout = aiohttp.ClientTimeout(total=max(1.0, 4 * self.refresh_s))
        try:
            if backend.has_load:
                async with self.session.get(f"{backend.url}/load", timeout=timeout) as resp:
                    if resp.status == 404:
                        backend.has_load = False
                    elif resp.status == 200:
                        data = await resp.json()
                        backend.touch()
                        backend.polled = LoadSignal(backend.index, backend.version, time.monotonic(),
                                                    int(data["requests"]), int(data["waiting"]),
                                                    int(data["outstanding_tokens"]), float(data["kv_util"]),
                                                    int(data["kv_tokens"]), int(data["capacity"]))
                        backend.healthy = True
                        return
                    else:
                        raise BackendFailed(f"/load answered {resp.status}")
            if backend.has_metrics and await self._scrape(backend, timeout):
                return
            async with self.session.get(f"{backend.url}/health", timeout=timeout) as resp:
                backend.healthy = resp.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError, BackendFailed, KeyError, ValueError, TypeError):
            backend.healthy = False

    async def _scrape(self, backend: Backend, timeout: aiohttp.ClientTimeout) -> bool:
        """Read vLLM's /metrics; True if it gave a signal. Unparsable text is logged once, then own books."""
        async with self.session.get(f"{backend.url}/metrics", timeout=timeout) as resp:
            if resp.status == 404:
                backend.has_metrics = False
                return False
            if resp.status != 200:
                raise BackendFailed(f"/metrics answered {resp.status}")
            text = await resp.text()
        try:
            backend.scraped = parse_vllm_metrics(text)
        except ValueError as exc:
            backend.scraped = None
            if not backend.warned:
                backend.warned = True
                log.warning("backend %s: cannot use its /metrics (%s); routing on the proxy's own counts", backend.url,
                            exc)
            return False
        backend.touch()
        backend.healthy = True
        return True

    # --- routing --------------------------------------------------------------------------------
    def dispatch(self) -> None:
        now = time.monotonic()
        while self.queue:
            _, _, _, (r, exclude, future) = self.queue[0]
            if future.done():
                heapq.heappop(self.queue)
                continue
            loads = [b.signal(now) for b in self.backends if b.healthy and b.index not in exclude]
            if not loads:
                heapq.heappop(self.queue)
                future.set_result(None)
                continue
            try:
                choice = self.policy.choose(r, loads)
            except Exception as exc:  # a broken policy fails its request, not the proxy (or its poller)
                heapq.heappop(self.queue)
                future.set_exception(PolicyFailed(f"policy {type(self.policy).__name__} raised "
                                                  f"{type(exc).__name__}: {exc}"))
                continue
            if choice is None:
                return
            heapq.heappop(self.queue)
            if all(s.replica != choice for s in loads):  # a policy bug must not send work to a down backend
                future.set_exception(PolicyFailed(f"policy {type(self.policy).__name__} chose backend {choice!r}, "
                                                  "which it was not offered"))
                continue
            future.set_result(self.backends[choice])

    async def route(self, r: Request, exclude: set[int]) -> Backend | None:
        """The backend the policy picks for `r` (waiting in the central queue if need be); None if none is up."""
        future = asyncio.get_running_loop().create_future()
        try:
            key = self.policy.order(r)
        except Exception as exc:
            raise PolicyFailed(f"policy {type(self.policy).__name__}.order raised "
                               f"{type(exc).__name__}: {exc}") from None
        heapq.heappush(self.queue, (key, r.arrival, next(self.ids), (r, exclude, future)))
        self.dispatch()
        return await asyncio.wait_for(future, self.queue_timeout_s)

    # --- HTTP -----------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            self.stats.client_errors += 1
            return error(400, "the request body is not valid JSON")
        try:
            prompt, max_tokens, stream = parse_body(request.path, body)
        except ValueError as exc:
            self.stats.client_errors += 1
            return error(400, str(exc))
        self.stats.requests += 1
        keys = text_keys(prompt_words(request.path, body), BLOCK_WORDS)
        r = Request(next(self.ids), time.monotonic(), prompt, max_tokens, keys=keys,
                    key_tokens=BLOCK_WORDS if keys else 0)
        r.predicted = self.predictor.predict(r)
        exclude: set[int] = set()
        tried: list[str] = []
        for attempt in range(2):
            try:
                backend = await self.route(r, exclude)
            except PolicyFailed as exc:
                self.stats.policy_errors += 1
                return error(500, str(exc), "policy_error")
            except asyncio.TimeoutError:
                self.stats.rejected_503 += 1
                return error(503, f"waited {self.queue_timeout_s:g} s in the proxy's queue: the policy found no "
                                  "backend with room", "service_unavailable")
            if backend is None:
                self.stats.rejected_503 += 1
                why = f" (tried {', '.join(tried)})" if tried else ""
                return error(503, f"no healthy backend available{why}", "service_unavailable")
            try:
                return await self.forward(request, body, stream, r, backend)
            except BackendFailed as exc:
                backend.healthy = False
                backend.failures += 1
                exclude.add(backend.index)
                tried.append(f"{backend.url}: {exc}")
                if attempt == 0:
                    self.stats.retries += 1
        self.stats.failed_502 += 1
        return error(502, f"backends failed, gave up after one retry ({'; '.join(tried)})", "bad_gateway")

    async def forward(self, request: web.Request, body: dict, stream: bool, r: Request,
                      backend: Backend) -> web.StreamResponse:
        backend.routed += 1
        books = backend.inflight[r.id] = [r.prompt, r.predicted, 0]
        backend.touch()
        response: web.StreamResponse | None = None
        try:
            async with self.session.post(f"{backend.url}{request.path}", json=body,
                                         headers={PREDICTED_HEADER: str(r.predicted)},
                                         timeout=aiohttp.ClientTimeout(total=self.request_timeout_s)) as up:
                if up.status >= 500:
                    raise BackendFailed(f"answered {up.status}")
                if up.status != 200 or not stream:
                    data = await up.read()
                    if up.status == 200:
                        self._learn(r)
                    return web.Response(body=data, status=up.status, content_type=up.content_type)
                async for chunk in up.content.iter_any():
                    if response is None:
                        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                                               "Cache-Control": "no-cache"})
                        await _to_client(response.prepare(request))
                    books[2] += chunk.count(b"data: ")
                    await _to_client(response.write(chunk))
                if response is None:
                    raise BackendFailed("closed the stream before any data")
                self._learn(r)
                await _to_client(response.write_eof())
                return response
        except ClientGone:
            self.stats.client_disconnects += 1
            return response
        except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
            if response is None:
                raise BackendFailed(type(exc).__name__) from None
            self.stats.cut_streams += 1
            backend.healthy = False
            backend.failures += 1
            try:
                await response.write(sse({"error": {"message": f"backend {backend.url} failed mid-stream "
                                                               f"({type(exc).__name__}); the reply is incomplete",
                                                    "type": "bad_gateway", "code": 502}}))
                await response.write_eof()
            except ConnectionError:
                self.stats.client_disconnects += 1
            return response
        finally:
            del backend.inflight[r.id]
            backend.touch()
            r.finished = time.monotonic()  # the clock its polled signals carry
            try:
                self.policy.completed(r, backend.index)
            except Exception as exc:  # a broken policy must not break the proxy
                self.stats.policy_errors += 1
                log.warning("policy %s.completed raised %s: %s", type(self.policy).__name__, type(exc).__name__, exc)
            self.dispatch()

    def _learn(self, r: Request) -> None:
        """A reply came back in full: tell the predictor (the mock engines generate exactly max_tokens)."""
        try:
            self.predictor.observe(r.prompt, r.output)
        except Exception as exc:  # a broken predictor must not break the proxy
            log.warning("predictor %s.observe raised %s: %s", type(self.predictor).__name__, type(exc).__name__, exc)

    async def status(self, request: web.Request) -> web.Response:
        return web.json_response({
            "policy": type(self.policy).__name__, "refresh_s": self.refresh_s, "stats": vars(self.stats),
            "backends": [{"url": b.url, "healthy": b.healthy, "routed": b.routed, "failures": b.failures,
                          "inflight": len(b.inflight), "load_endpoint": b.has_load, "signal": b.source}
                         for b in self.backends],
            "queued": len(self.queue)})

    async def models(self, request: web.Request) -> web.Response:
        """``GET /v1/models`` of the first healthy backend (the OpenAI client lists models this way)."""
        for backend in self.backends:
            if not backend.healthy:
                continue
            try:
                async with self.session.get(f"{backend.url}/v1/models", timeout=aiohttp.ClientTimeout(total=5)) as up:
                    if up.status < 500:
                        return web.Response(body=await up.read(), status=up.status, content_type=up.content_type)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                continue
        return error(503, "no healthy backend to list models", "service_unavailable")

    async def health(self, request: web.Request) -> web.Response:
        healthy = sum(b.healthy for b in self.backends)
        return web.json_response({"status": "ok" if healthy else "no healthy backend", "healthy_backends": healthy},
                                 status=200 if healthy else 503)


def make_proxy_app(proxy: Proxy) -> web.Application:
    app = web.Application(middlewares=[json_errors])
    app.router.add_post(COMPLETIONS, proxy.handle)
    app.router.add_post(CHAT, proxy.handle)
    app.router.add_get("/stats", proxy.status)
    app.router.add_get("/health", proxy.health)
    app.router.add_get("/v1/models", proxy.models)
    app.on_startup.append(proxy.start)
    app.on_cleanup.append(proxy.stop)
    return app




def build_proxy(backends: list[str], policy: str | None, predictor: str | None, sigma: float, refresh_s: float,
                seed: int, assignments: list[str], policy_config=None) -> Proxy:
    """A proxy from command-line options (checked: bad URLs, names and options are one-line errors)."""
    from sysai.errors import UserError

    from llm_la_lab.live.replay import check_url
    from llm_la_lab.policies.base import make_policy, policy_options
    from llm_la_lab.predictors.base import make_predictor

    options = policy_options(assignments, policy_config)
    if not refresh_s > 0:
        raise UserError("--refresh must be positive")
    urls = [check_url(b, allow_remote=True, option="--backend") for b in backends]
    name = policy or DEFAULT_PROXY_POLICY
    chosen = make_policy(name, seed, options.get(name))
    _refuse_a_stub(chosen)
    return Proxy(urls, chosen, make_predictor(predictor, seed, sigma), refresh_s=refresh_s)


def _refuse_a_stub(policy) -> None:
    """In a handout, a policy whose graded task is not done stops `proxy` at start with the task's
    one-line pointer, instead of a proxy that answers every request with a 500.

    The probe asks a copy (a policy keeps state) for one request on one idle backend; any other
    exception is left to the request path, which reports it per request."""
    import copy

    from sysai.errors import TaskNotDone

    probe = Request(0, 0.0, 16, 16)
    idle = LoadSignal(replica=0, version=0, time=0.0, requests=0, waiting=0, outstanding_tokens=0, kv_util=0.0,
                      kv_tokens=16_384, capacity=16)
    try:
        trial = copy.deepcopy(policy)
        trial.order(probe)
        trial.choose(probe, [idle])
    except TaskNotDone:
        raise
    except Exception:  # noqa: BLE001 - not ours to judge here (see the docstring)
        pass
