"""Lab 2 · LLM-LA, plugged into the `sysai` umbrella: the command group and the tour section."""

from __future__ import annotations

from sysai.catalog import Lab
from sysai.tour import TourContext, TourSection

from llm_la_lab.cli import app


def tour(ctx: TourContext) -> TourSection:
    """Every policy on the Azure conv trace at ρ = 0.85 on 8 memory-constrained replicas, against round-robin."""
    from llm_la_lab.experiments import Setup, compare
    from llm_la_lab.replica import REPLICA_PRESETS
    from llm_la_lab.report import COLUMNS, compare_rows

    policies = ["round_robin", "random", "least_requests", "power_of_two", "least_outstanding_tokens", "llm_la"]
    setup = Setup(requests=3000 if ctx.quick else 6000, load=0.85, replica=REPLICA_PRESETS["constrained"], seed=ctx.seed)
    high = compare(setup, policies, ctx.out)
    rows = compare_rows(high.policies)
    rr, la = high.policies["round_robin"], high.policies["llm_la"]
    summary = (f"{high.requests:,} requests of the Azure conv trace (Patel et al., ISCA'24) on {high.instances} simulated "
               f"Llama-2-7b replicas (A100 speed, 16k-token KV cache) at load {high.load:.2f}: TTFT p99 {rr['ttft_p99_s']:.2f} s with round-robin vs "
               f"{la['ttft_p99_s']:.2f} s with llm_la (pull + short-first); E2E mean {rr['e2e_mean_s']:.2f} vs "
               f"{la['e2e_mean_s']:.2f} s. Same table: sysai llm-la compare --replica-config constrained --requests "
               f"{high.requests}.")
    figures = [f for f in high.files if f.suffix == ".png" and (f.stem == "latency_cdf" or "round_robin" in f.stem
                                                                 or "llm_la" in f.stem)]
    return TourSection("LLM-LA: routing policies on a real trace (SimPy)", summary, COLUMNS, rows, figures,
                       {"requests": high.requests, "load": high.load, "policies": high.policies})


LAB = Lab(app=app, tour=tour, registries=("llm_la_lab.policies.base:POLICIES", "llm_la_lab.predictors.base:PREDICTORS"))
