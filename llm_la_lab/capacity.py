"""What "offered load ρ" means: a fraction of the cluster's saturation throughput for a length mix.

A saturated replica keeps as many requests decoding as its limits allow — ``max_num_seqs``, or
the KV cache divided by the mean context a decoding request holds (prompt + half its output) —
so its concurrency is ``B = min(max_num_seqs, usable KV tokens / mean context)``. Each request then
costs the replica

* its **prefill**: the linear (compute-bound) part ``per_token · prompt`` plus prefill attention
  ``c · prompt²``, and
* its share of **decode** iterations: ``(output − 1) · T_decode(B) / B``, where ``T_decode(B)`` is the
  latency model's time for a decode step of B requests holding B · mean-context cached tokens.

Saturation throughput = replicas / mean cost per request; ``--load ρ`` sets the arrival rate to ρ
times that. It is an estimate (prefill batches and preemptions are averaged out); the ρ-sweep
shows where latency actually takes off.
"""

from __future__ import annotations

import numpy as np

from llm_la_lab.latency import LatencyModel
from llm_la_lab.replica import ReplicaConfig


def request_cost_s(prompt: np.ndarray, output: np.ndarray, config: ReplicaConfig, latency: LatencyModel) -> float:
    """Mean replica-seconds one request of this mix costs on a saturated replica."""
    prompt = np.asarray(prompt, dtype=float)
    output = np.asarray(output, dtype=float)
    context = float(np.mean(prompt + output / 2))
    usable_tokens = config.kv_blocks * (1 - config.watermark) * config.block_size
    batch = max(1.0, min(config.max_num_seqs, usable_tokens / context))
    decode_step = latency.iteration_s(int(batch), 0, int(batch * context))
    prefill = latency.per_token_s * prompt + latency.prefill_attn_per_token2_s * prompt**2
    decode = (output - 1) * decode_step / batch
    return float(np.mean(prefill + decode))


def saturation_rate(prompt: np.ndarray, output: np.ndarray, replicas: int, config: ReplicaConfig,
                    latency: LatencyModel) -> float:
    """Requests per second the cluster can sustain for this length mix."""
    return replicas / request_cost_s(prompt, output, config, latency)
