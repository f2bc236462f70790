"""Replay a trace against an OpenAI-compatible URL and measure what the simulator measures.

Each trace row becomes a streaming ``/v1/completions`` request with a prompt of exactly
``prompt`` words and ``max_tokens = output``. The words are the request's own (so two prompts
share a prefix only where the trace says so: a trace with block hashes, like Mooncake's, repeats
a block's words wherever its hash repeats; other traces share nothing), sent at its arrival time × ``time_scale`` (wall
seconds per model second, the same factor the mock engines use). TTFT is the first streamed
token, E2E the end of the stream; times are divided by ``time_scale`` so they read in the
simulator's (model) seconds. Bounded: a maximum number of requests, and loopback URLs only unless
``allow_remote`` is set.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import aiohttp
import numpy as np

from sysai.errors import UserError

from llm_la_lab.live.openai_api import COMPLETIONS
from llm_la_lab.metrics import Slo, pcts
from llm_la_lab.workload import Workload

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
MAX_REQUESTS = 5000


@dataclass
class Outcome:
    arrival: float
    prompt: int
    output: int
    ttft: float = float("nan")
    e2e: float = float("nan")
    tokens: int = 0
    error: str = ""
    text: str = ""


def prompt_text(index: int, prompt: int, keys: tuple[int, ...] = (), key_tokens: int = 0) -> str:
    """`prompt` words: one word per token of each hashed block (equal blocks, equal words), then unique ones."""
    words: list[str] = []
    for key in keys:
        if len(words) + key_tokens > prompt:
            break
        words += [f"k{key & 0xFFFFFFFFFFFF:x}"] * key_tokens
    words += [f"r{index}"] * (prompt - len(words))
    return " ".join(words)


def check_url(url: str, allow_remote: bool, option: str = "--url") -> str:
    """The server's base URL: http(s), loopback unless allowed, without a trailing ``/`` or ``/v1``
    (so the OpenAI client's ``base_url`` works too)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UserError(f"{option} must be an http(s) URL, got {url!r}")
    if parsed.hostname not in LOOPBACK_HOSTS and not allow_remote:
        raise UserError(f"{url} is not a loopback address: add --allow-remote to replay against another host")
    base = url.rstrip("/")
    return base[:-3] if base.endswith("/v1") else base


async def replay(url: str, workload: Workload, time_scale: float, timeout_s: float = 600.0) -> list[Outcome]:
    """Send every request of `workload` at its (scaled) time; gather one outcome per request."""
    if len(workload) > MAX_REQUESTS:
        raise UserError(f"replay is bounded to {MAX_REQUESTS} requests, got {len(workload)} (use --requests)")
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:
        start = time.monotonic()
        tasks = []
        keys = workload.keys or [()] * len(workload)
        for i, (arrival, prompt, output) in enumerate(zip(workload.arrival.tolist(), workload.prompt.tolist(),
                                                          workload.output.tolist())):
            delay = start + arrival * time_scale - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            outcome = Outcome(arrival, int(prompt), int(output),
                              text=prompt_text(i, int(prompt), keys[i], workload.key_tokens))
            tasks.append(asyncio.ensure_future(_one(session, url, outcome, time_scale)))
        return list(await asyncio.gather(*tasks))


async def _one(session: aiohttp.ClientSession, url: str, outcome: Outcome, scale: float) -> Outcome:
    body = {"model": "replay", "prompt": outcome.text or " ".join(["w"] * outcome.prompt),
            "max_tokens": outcome.output, "stream": True}
    sent = time.monotonic()
    try:
        async with session.post(f"{url}{COMPLETIONS}", json=body) as resp:
            if resp.status != 200:
                outcome.error = f"HTTP {resp.status}: {(await resp.text())[:200]}"
                return outcome
            async for line in resp.content:
                if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
                    continue
                event = json.loads(line[6:])
                if "error" in event:
                    outcome.error = event["error"].get("message", "error event")
                    return outcome
                if outcome.tokens == 0:
                    outcome.ttft = (time.monotonic() - sent) / scale
                outcome.tokens += 1
        outcome.e2e = (time.monotonic() - sent) / scale
        if outcome.tokens != outcome.output:
            outcome.error = f"got {outcome.tokens} of {outcome.output} tokens"
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
    return outcome


def summarize_outcomes(outcomes: list[Outcome], slo: Slo) -> dict[str, float]:
    ok = [o for o in outcomes if not o.error]
    e2e = np.array([o.e2e for o in ok])
    ttft = np.array([o.ttft for o in ok])
    output = np.array([o.output for o in ok], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(output > 1, (e2e - ttft) / (output - 1), np.nan)
    span = max((o.arrival + o.e2e for o in ok), default=0.0) - min((o.arrival for o in outcomes), default=0.0)
    good = (ttft <= slo.ttft_s) & np.where(np.isnan(tpot), True, tpot <= slo.tpot_s)
    return {**pcts("e2e", e2e), **pcts("ttft", ttft), **pcts("tpot", tpot),
            "throughput_tok_s": float(output.sum() / span) if span > 0 else float("nan"),
            "slo_attainment": float(good.sum() / len(outcomes)) if outcomes else float("nan"),
            "completed": len(ok), "errors": len(outcomes) - len(ok)}


def replay_trace(url: str, trace: str, columns: str | None, time_unit: str | None, requests: int,
                 rate: float | None, time_scale: float, allow_remote: bool, slo_ttft: float, slo_tpot: float,
                 out: Path) -> dict:
    """The `replay` command's work: replay a trace slice, write requests.csv, return the summary."""
    from dataclasses import asdict

    from sysai.results import write_csv

    from llm_la_lab.workload import load_trace

    base = check_url(url, allow_remote)
    workload = load_trace(trace, columns, time_unit).head(requests)
    if rate is not None:
        workload = workload.at_rate(rate)
    outcomes = asyncio.run(replay(base, workload, time_scale))
    summary = summarize_outcomes(outcomes, Slo(slo_ttft, slo_tpot))
    write_csv(out / "requests.csv", [{k: v for k, v in asdict(o).items() if k != "text"} for o in outcomes])
    failed = [o.error for o in outcomes if o.error]
    return {"url": base, "requests": len(workload), "time_scale": time_scale, **summary,
            "first_error": failed[0] if failed else None}
