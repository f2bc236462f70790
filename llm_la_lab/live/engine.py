"""A mock OpenAI-compatible engine: one continuous-batching replica emulated in real time.

It runs the simulator's :class:`~llm_la_lab.replica.ReplicaCore` on a virtual clock: each
iteration lasts the latency model's duration times ``time_scale`` of wall time (0.1 → ten times
faster than the modelled A100), and tokens stream out as iterations complete. Deadlines are
absolute, so small event-loop delays do not accumulate. Requests generate exactly ``max_tokens``
tokens (like vLLM with ``ignore_eos``); prompts count one token per word.

Endpoints: ``POST /v1/completions`` and ``/v1/chat/completions`` (SSE streaming or not),
``GET /metrics`` (Prometheus text with vLLM's metric names: ``vllm:num_requests_running``,
``vllm:num_requests_waiting``, ``vllm:kv_cache_usage_perc`` and its older name
``vllm:gpu_cache_usage_perc``, ``vllm:prefix_cache_queries_total``/``_hits_total``,
``vllm:num_preemptions_total``) — what a router can scrape from a real vLLM — and ``GET /load``
(the same plus outstanding tokens, a mock-only fast path), ``GET /health``, ``GET /v1/models``,
and the mock-only ``POST /faults`` (``{"fail_next": N}``: the next N completions answer 503 before
any byte — what a router retries elsewhere; a killed engine shows it only by chance).

The engine has vLLM's automatic prefix cache: a prompt's words are hashed into blocks of
``block_size`` words (:func:`~llm_la_lab.live.openai_api.text_keys`), so two prompts that share
their leading blocks share KV blocks and the second skips their prefill. A request longer than
the replica accepts gets vLLM's 400 ("This model's maximum context length is …"). Malformed
requests get a 400 with a message. A streaming client that hangs up is aborted (its tokens stop
counting as load), like vLLM does.
"""

from __future__ import annotations

import asyncio
import itertools
import time

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from llm_la_lab.latency import LatencyModel
from llm_la_lab.live.openai_api import (CHAT, COMPLETIONS, PREDICTED_HEADER, error, json_errors, parse_body,
                                        prompt_words, sse, text_keys, too_long)
from llm_la_lab.replica import ReplicaConfig, ReplicaCore
from llm_la_lab.request import DONE, Request

MODEL = "mock-llama-2-7b"


class Engine:
    def __init__(self, name: str, config: ReplicaConfig | None = None, latency: LatencyModel | None = None,
                 time_scale: float = 0.1):
        if not time_scale > 0:
            raise ValueError("time_scale must be positive")
        self.name = name
        self.core = ReplicaCore(config, latency)
        self.scale = time_scale
        self.ids = itertools.count()
        self.wake = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.origin = time.monotonic()
        self.served = 0
        self.aborted = 0

    def now(self) -> float:
        """Virtual (model) seconds since the engine started."""
        return (time.monotonic() - self.origin) / self.scale

    async def run(self) -> None:
        core = self.core
        clock = self.now()
        while True:
            duration = core.plan(clock)
            if duration is None:
                self.wake.clear()
                await self.wake.wait()
                clock = max(clock, self.now())
                continue
            active = [r for r, _ in core.batch] + (list(core.running) if core.decoding else [])
            clock += duration
            delay = clock * self.scale + self.origin - time.monotonic()
            await asyncio.sleep(max(delay, 0.0))
            core.complete(clock)
            for r in active:
                if r.listener is not None:
                    r.listener.set()

    def submit(self, prompt: int, max_tokens: int, predicted: int | None, keys: tuple[int, ...] = ()) -> Request:
        """Queue a request; it comes back rejected if it is longer than the replica accepts."""
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.run())
        r = Request(next(self.ids), self.now(), prompt, max_tokens, predicted, keys=keys,
                    key_tokens=self.core.config.block_size if keys else 0)
        r.listener = asyncio.Event()
        if self.core.add(r):
            self.wake.set()
        return r

    def collect(self):
        """Prometheus metric families with vLLM's names (scraped by ``GET /metrics``)."""
        core, labels = self.core, {"model_name": MODEL}

        def family(kind, name, text, value):
            metric = kind(name, text, labels=list(labels))
            metric.add_metric(list(labels.values()), value)
            return metric

        yield family(GaugeMetricFamily, "vllm:num_requests_running", "Number of requests in model execution batches.",
                     len(core.running) + len(core.partial))
        yield family(GaugeMetricFamily, "vllm:num_requests_waiting", "Number of requests waiting to be processed.",
                     len(core.waiting))
        yield family(GaugeMetricFamily, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.",
                     core.kv_util)
        yield family(GaugeMetricFamily, "vllm:gpu_cache_usage_perc", "GPU KV-cache usage (vLLM v0 name).",
                     core.kv_util)
        yield family(CounterMetricFamily, "vllm:prefix_cache_queries", "Prefix-cache queries, in tokens.",
                     core.cache.queries)
        yield family(CounterMetricFamily, "vllm:prefix_cache_hits", "Prefix-cache hits, in tokens.", core.cache.hits)
        yield family(CounterMetricFamily, "vllm:num_preemptions", "Cumulative number of preemptions.",
                     core.preemptions)

    def load(self) -> dict:
        core = self.core
        return {"name": self.name, "version": core.version, "requests": core.requests, "waiting": len(core.waiting),
                "running": len(core.running), "outstanding_tokens": core.outstanding_tokens,
                "kv_util": core.kv_util, "kv_tokens": core.config.kv_blocks * core.config.block_size,
                "capacity": core.config.max_num_seqs, "preemptions": core.preemptions, "served": self.served,
                "aborted": self.aborted, "rejected": core.rejected, "prefix_hit_rate": core.cache.hit_rate}

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()


def make_engine_app(name: str = "engine-0", config: ReplicaConfig | None = None, latency: LatencyModel | None = None,
                    time_scale: float = 0.1, fast_path: bool = True) -> web.Application:
    """The engine's HTTP app; ``fast_path=False`` leaves out ``/load``, so it looks like a real vLLM."""
    app = web.Application(middlewares=[json_errors])
    holder: dict[str, Engine] = {}
    faults = {"fail_next": 0}

    def engine() -> Engine:
        if "engine" not in holder:  # created on the serving loop, where its asyncio objects belong
            holder["engine"] = Engine(name, config, latency, time_scale)
        return holder["engine"]

    async def complete(request: web.Request) -> web.StreamResponse:
        if faults["fail_next"] > 0:
            faults["fail_next"] -= 1
            return error(503, "injected fault (POST /faults): failed before answering", "service_unavailable")
        try:
            body = await request.json()
        except ValueError:
            return error(400, "the request body is not valid JSON")
        try:
            prompt, max_tokens, stream = parse_body(request.path, body)
            predicted = int(request.headers[PREDICTED_HEADER]) if PREDICTED_HEADER in request.headers else None
        except ValueError as exc:
            return error(400, str(exc))
        eng = engine()
        keys = text_keys(prompt_words(request.path, body), eng.core.config.block_size)
        r = eng.submit(prompt, max_tokens, predicted, keys)
        if r.rejected:  # longer than max_model_len, or than the KV cache can ever hold
            return too_long(eng.core.limit, prompt, max_tokens)
        chat = request.path.endswith(CHAT)
        created = int(time.time())
        rid = f"{'chatcmpl' if chat else 'cmpl'}-{eng.name}-{r.id}"
        if not stream:
            while r.state != DONE:
                r.listener.clear()
                await r.listener.wait()
            eng.served += 1
            text = " token" * r.output
            choice = ({"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"} if chat
                      else {"index": 0, "text": text, "finish_reason": "length"})
            return web.json_response({"id": rid, "object": "chat.completion" if chat else "text_completion",
                                      "created": created, "model": MODEL, "choices": [choice],
                                      "usage": {"prompt_tokens": r.prompt, "completion_tokens": r.output,
                                                "total_tokens": r.prompt + r.output}})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        kind = "chat.completion.chunk" if chat else "text_completion"
        sent = 0
        try:
            await response.prepare(request)
            while sent < r.output:
                r.listener.clear()
                made = eng.core.generated(r)
                if made == sent:
                    await r.listener.wait()
                    continue
                for _ in range(made - sent):
                    sent += 1
                    last = sent == r.output
                    delta = ({"delta": {"content": " token"}, "index": 0, "finish_reason": "length" if last else None}
                             if chat else {"text": " token", "index": 0, "finish_reason": "length" if last else None})
                    await response.write(sse({"id": rid, "object": kind, "created": created, "model": MODEL,
                                              "choices": [delta]}))
            if (body.get("stream_options") or {}).get("include_usage"):
                await response.write(sse({"id": rid, "object": kind, "created": created, "model": MODEL, "choices": [],
                                          "usage": {"prompt_tokens": r.prompt, "completion_tokens": r.output,
                                                    "total_tokens": r.prompt + r.output}}))
            await response.write(sse("[DONE]"))
            await response.write_eof()
        except ConnectionError:  # the client hung up: stop generating for it, as vLLM aborts
            eng.core.abort(r)
            eng.wake.set()
            eng.aborted += 1
            return response
        eng.served += 1
        return response

    async def load(request: web.Request) -> web.Response:
        return web.json_response(engine().load())

    async def metrics(request: web.Request) -> web.Response:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(engine())
        return web.Response(body=generate_latest(registry), content_type="text/plain", charset="utf-8",
                            headers={"X-Prometheus-Format": "0.0.4"})

    async def set_faults(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            n = body["fail_next"]
        except (ValueError, TypeError, KeyError):
            n = None
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            return error(400, 'expected {"fail_next": N} with N ≥ 0 (the next N completions answer 503)')
        faults["fail_next"] = n
        return web.json_response(faults)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "name": name})

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "sysai"}]})

    async def cleanup(app: web.Application) -> None:
        if "engine" in holder:
            await holder["engine"].stop()

    app.router.add_post(COMPLETIONS, complete)
    app.router.add_post(CHAT, complete)
    if fast_path:
        app.router.add_get("/load", load)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/faults", set_faults)
    app.router.add_get("/health", health)
    app.router.add_get("/v1/models", models)
    app.on_cleanup.append(cleanup)
    return app
