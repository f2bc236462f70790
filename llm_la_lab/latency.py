"""How long one continuous-batching iteration takes: a roofline-style latency model.

An iteration of a vLLM-style engine runs every layer once over the tokens of its batch: all the
prompt tokens of the requests being prefilled, plus one token per request being decoded. Its time
has two parts (as in Vidur, Agrawal et al., MLSys'24, which profiles them separately):

* the **non-attention** operators (QKV/output projections, MLP, norms, RoPE): time depends on the
  number of tokens in the iteration. Small batches are bound by reading the weights (a floor),
  large ones by compute (linear in tokens). The default coefficients are *fitted* to Vidur's
  measured A100-80GB Llama-2-7b operator timings (``data/vidur_llama2_7b_a100_tp1_layer_ms.csv``,
  MIT, see ``data/ATTRIBUTION.md``) by :func:`fit_vidur`.
* **attention**: decode attention reads every cached K/V byte of the batch (memory-bound:
  ``kv_tokens × bytes_per_token / HBM bandwidth``); prefill attention is quadratic in the prompt
  (compute-bound: ``2·n²·d`` FLOPs per layer with a causal mask). Vidur's attention timings are
  not bundled, so these two coefficients come from a **roofline estimate** (:func:`roofline_attention`)
  with A100-80GB datasheet numbers (2,039 GB/s HBM, 312 TFLOP/s dense FP16) at stated efficiencies.

Other GPUs and models (:data:`PROFILES`, used by the replica presets): Llama-2-7b on an H100
(Vidur's H100 profile; roofline with 3,350 GB/s, 989 TFLOP/s) and Llama-3-8B on an A100 (Vidur's
profile up to 32k tokens; grouped-query attention with 8 KV heads, so a quarter of Llama-2-7b's
KV bytes per cached token to read).

A YAML file with any of the fields overrides the defaults (``--latency FILE``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from sysai.config import load_yaml, option
from sysai.errors import UserError

LLAMA2_7B_LAYERS = 32
LLAMA2_7B_HIDDEN = 4096

#: (HBM bytes/s, dense FP16 FLOP/s) from the datasheets.
GPUS = {"a100-80gb": (2.039e12, 312e12), "h100-80gb": (3.35e12, 989e12)}
#: model -> (layers, hidden, KV hidden = KV heads × head dim)
MODELS = {"llama-2-7b": (32, 4096, 4096), "llama-3-8b": (32, 4096, 1024)}
#: profile name -> (bundled Vidur-derived CSV, model, GPU)
PROFILES = {
    "llama2-7b-a100": ("vidur_llama2_7b_a100_tp1_layer_ms.csv", "llama-2-7b", "a100-80gb"),
    "llama2-7b-h100": ("vidur_llama2_7b_h100_tp1_layer_ms.csv", "llama-2-7b", "h100-80gb"),
    "llama3-8b-a100": ("vidur_llama3_8b_a100_tp1_layer_ms.csv", "llama-3-8b", "a100-80gb"),
}


@dataclass(frozen=True)
class LatencyModel:
    """Iteration time = overhead + max(floor, base + per_token·tokens) + attention terms (seconds)."""

    floor_s: float = option(0.00928, "non-attention time of a tiny batch (weight-read bound), whole model")
    base_s: float = option(0.00225, "intercept of the compute-bound linear part, whole model")
    per_token_s: float = option(6.418e-05, "non-attention time per token in the iteration (Vidur fit)")
    decode_attn_per_kv_token_s: float = option(3.214e-07, "decode attention time per cached token read (roofline)")
    prefill_attn_per_token2_s: float = option(1.68e-09, "prefill attention time per prompt token squared (roofline)")
    overhead_s: float = option(0.0, "fixed per-iteration CPU/scheduling overhead (not in Vidur's GPU timings)")
    source: str = option("Llama-2-7b on A100-80GB, TP=1: Vidur operator profile + attention roofline",
                         "where the coefficients come from")

    def iteration_s(self, tokens: int, prefill_sq: float, kv_tokens: int) -> float:
        """Duration of one iteration with `tokens` batched tokens (prompt tokens + one per decode),
        `prefill_sq` = Σ prompt_len² over the prefilled requests, `kv_tokens` cached tokens read by decodes."""
        linear = self.base_s + self.per_token_s * tokens
        return (self.overhead_s + (linear if linear > self.floor_s else self.floor_s)
                + self.decode_attn_per_kv_token_s * kv_tokens + self.prefill_attn_per_token2_s * prefill_sq)


    def decode_ends(self, start: float, batch: int, kv_tokens: int, steps: int) -> list[float]:
        """End times of `steps` decode-only iterations of `batch` requests from `start`, the first reading
        `kv_tokens` cached tokens and each next one `batch` more — the very float operations that
        :meth:`iteration_s` and a step-by-step clock perform, so the times are identical."""
        linear = self.base_s + self.per_token_s * batch
        head = self.overhead_s + (linear if linear > self.floor_s else self.floor_s)
        per_kv = self.decode_attn_per_kv_token_s
        tail = self.prefill_attn_per_token2_s * 0
        times = [start]
        t = start
        for j in range(steps):
            t = t + (head + per_kv * (kv_tokens + batch * j) + tail)
            times.append(t)
        return times


def load_latency(path: str | Path | None) -> LatencyModel:
    return LatencyModel() if path is None else load_yaml(LatencyModel, path)


def vidur_profile_path(profile: str = "llama2-7b-a100") -> Path:
    return Path(str(resources.files("llm_la_lab") / "data" / PROFILES[profile][0]))


def profile_latency(profile: str) -> LatencyModel:
    """The latency model of a named (model, GPU) profile: Vidur fit + that GPU's attention roofline."""
    name, model, gpu = PROFILES[profile]
    layers, hidden, kv_hidden = MODELS[model]
    hbm, flops = GPUS[gpu]
    fitted = fit_vidur(vidur_profile_path(profile), layers, hidden=hidden, kv_hidden=kv_hidden, hbm_bytes_s=hbm,
                       peak_flops=flops)
    if profile == "llama2-7b-a100":
        return fitted
    from dataclasses import replace

    return replace(fitted, source=f"{model} on {gpu}, TP=1: Vidur operator profile + attention roofline")


def roofline_attention(
    layers: int = LLAMA2_7B_LAYERS,
    hidden: int = LLAMA2_7B_HIDDEN,
    bytes_per_value: int = 2,
    kv_hidden: int | None = None,
    hbm_bytes_s: float = 2.039e12,
    hbm_efficiency: float = 0.8,
    peak_flops: float = 312e12,
    flops_efficiency: float = 0.5,
) -> tuple[float, float]:
    """(decode seconds per cached token, prefill seconds per prompt token²) from a roofline.

    Decode: each cached token holds K and V (2·kv_hidden values; kv_hidden = hidden unless the
    model uses grouped-query attention) per layer, all read once per step.
    Prefill: causal attention is ≈ 2·n²·hidden FLOPs per layer (QKᵀ and AV, half masked).
    """
    kv_bytes_per_token = 2 * (kv_hidden or hidden) * bytes_per_value * layers
    decode = kv_bytes_per_token / (hbm_bytes_s * hbm_efficiency)
    prefill = 2 * hidden * layers / (peak_flops * flops_efficiency)
    return decode, prefill


def fit_vidur(path: str | Path | None = None, layers: int = LLAMA2_7B_LAYERS, **roofline) -> LatencyModel:
    """Fit floor, base and per-token coefficients to the per-layer Vidur timings.

    The floor is the whole-model time for ≤ 64 tokens (flat: weight reads dominate); the linear
    part is a least-squares fit for ≥ 512 tokens (compute-bound).
    """
    path = Path(path) if path is not None else vidur_profile_path()
    try:
        with path.open() as fh:
            rows = [(int(r["num_tokens"]), float(r["layer_ms_median"]), float(r["emb_ms_median"]))
                    for r in csv.DictReader(fh)]
    except (KeyError, ValueError) as exc:
        raise UserError(f"{path}: not a Vidur layer-timing CSV ({exc})") from None
    tokens = np.array([r[0] for r in rows], dtype=float)
    model_s = np.array([(layers * r[1] + r[2]) / 1e3 for r in rows])
    floor = float(np.median(model_s[tokens <= 64]))
    big = tokens >= 512
    per_token, base = np.polyfit(tokens[big], model_s[big], 1)
    decode, prefill = roofline_attention(layers=layers, **roofline)
    return LatencyModel(floor_s=round(floor, 5), base_s=round(float(base), 5), per_token_s=float(f"{per_token:.4g}"),
                        decode_attn_per_kv_token_s=float(f"{decode:.4g}"),
                        prefill_attn_per_token2_s=float(f"{prefill:.3g}"))
