"""Serving metrics from finished requests: the numbers LLM-serving papers report.

* **TTFT** (time to first token) = first token − arrival; **TPOT** (time per output token) =
  (finish − first token) / (output − 1); **E2E** = finish − arrival.
* Breakdown of E2E: **queueing** (arrival → first scheduled, in the router's and the replica's
  queues), **prefill** (first scheduled → first token, including preemption restarts), **decode**.
* **Throughput** in output tokens per second of simulated time; **SLO attainment**: fraction of
  requests with TTFT ≤ ``slo_ttft_s`` and TPOT ≤ ``slo_tpot_s``; **goodput**: such requests per second.
* **Rejected**: requests a replica refused (longer than its ``max_model_len``, vLLM's 400). They
  are left out of the latency figures and count as SLO misses.
* **Prefix hit rate**: prompt tokens found in a replica's prefix cache / prompt tokens looked up
  (vLLM's ``prefix_cache_hits / prefix_cache_queries``).
* **Imbalance**: the coefficient of variation (std/mean) across replicas of outstanding tokens,
  sampled over time, averaged over samples where the cluster holds any work.
"""

from __future__ import annotations

import math

from dataclasses import dataclass

import numpy as np

from sysai.config import option
from sysai.errors import UserError

from llm_la_lab.request import Request


@dataclass(frozen=True)
class Slo:
    ttft_s: float = option(2.0, "TTFT service-level objective, seconds")
    tpot_s: float = option(0.1, "TPOT service-level objective, seconds per token")

    def __post_init__(self) -> None:
        if not (0 < self.ttft_s < math.inf and 0 < self.tpot_s < math.inf):
            raise UserError(f"SLOs must be positive numbers of seconds (--slo-ttft {self.ttft_s}, "
                            f"--slo-tpot {self.tpot_s})")


def latencies(requests: list[Request]) -> dict[str, np.ndarray]:
    arrival = np.array([r.arrival for r in requests])
    first = np.array([r.first_token for r in requests], dtype=float)
    finished = np.array([r.finished for r in requests], dtype=float)
    started = np.array([r.started for r in requests], dtype=float)
    output = np.array([r.output for r in requests], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(output > 1, (finished - first) / (output - 1), np.nan)
    return {"e2e": finished - arrival, "ttft": first - arrival, "tpot": tpot, "queue": started - arrival,
            "prefill": first - started, "decode": finished - first, "output": output, "finished": finished,
            "arrival": arrival}


def pcts(name: str, values: np.ndarray) -> dict[str, float]:
    values = values[~np.isnan(values)]
    if not len(values):
        return {f"{name}_{k}_s": float("nan") for k in ("mean", "p50", "p90", "p99")}
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {f"{name}_mean_s": float(values.mean()), f"{name}_p50_s": float(p50), f"{name}_p90_s": float(p90),
            f"{name}_p99_s": float(p99)}


def summarize(requests: list[Request], slo: Slo, preemptions: int, outstanding: np.ndarray | None = None,
              kv_util: np.ndarray | None = None, prefix: tuple[int, int] = (0, 0)) -> dict[str, float]:
    """Latency figures over the served requests; `prefix` = (tokens looked up, tokens hit) in prefix caches."""
    served = [r for r in requests if not r.rejected]
    rejected = len(requests) - len(served)
    if not served:
        raise UserError(f"all {len(requests)} requests were rejected: every one is longer than the replicas accept "
                        "(see --replica-config, e.g. llama3-8b-a100 for long prompts)")
    lat = latencies(served)
    span = float(lat["finished"].max() - lat["arrival"].min()) or 1.0
    tpot_ok = np.where(np.isnan(lat["tpot"]), True, lat["tpot"] <= slo.tpot_s)
    ok = (lat["ttft"] <= slo.ttft_s) & tpot_ok
    out = {**pcts("e2e", lat["e2e"]), **pcts("ttft", lat["ttft"]), **pcts("tpot", lat["tpot"])}
    out.update({
        "queue_mean_s": float(lat["queue"].mean()),
        "prefill_mean_s": float(lat["prefill"].mean()),
        "decode_mean_s": float(lat["decode"].mean()),
        "throughput_tok_s": float(lat["output"].sum() / span),
        "slo_attainment": float(ok.sum() / len(requests)),
        "goodput_rps": float(ok.sum() / span),
        "preemptions": int(preemptions),
        "rejected": rejected,
        "prefix_hit_rate": prefix[1] / prefix[0] if prefix[0] else 0.0,
    })
    if outstanding is not None and len(outstanding):
        out["imbalance_cv"] = imbalance_cv(outstanding)
    if kv_util is not None and len(kv_util):
        out["kv_util_mean"] = float(kv_util.mean())
    return out


def imbalance_cv(outstanding: np.ndarray) -> float:
    """Mean over samples of std/mean across replicas (samples with no work left out)."""
    mean = outstanding.mean(axis=1)
    busy = mean > 0
    if not busy.any():
        return 0.0
    return float((outstanding[busy].std(axis=1) / mean[busy]).mean())
