"""The lab's section of `sysai tour`: every default policy on the Azure conv trace (simulated)."""

from __future__ import annotations

from sysai.tour import TourContext, TourSection


def tour(ctx: TourContext) -> TourSection:
    """Every default policy on the Azure conv trace at ρ = 0.85 on 8 memory-constrained replicas, vs round-robin."""
    from llm_la_lab.experiments import Setup, compare
    from llm_la_lab.report import COLUMNS, compare_rows

    setup = Setup(requests=3000 if ctx.quick else 6000, load=0.85, replica_spec="constrained", seed=ctx.seed)
    high = compare(setup, None, ctx.out)
    rows = compare_rows(high.policies)
    rr, la = high.policies["round_robin"], high.policies["llm_la"]
    summary = (f"Simulated (SimPy, seeded): {high.requests:,} requests of the Azure conv trace (Patel et al., ISCA'24) "
               f"on {high.instances} Llama-2-7b replicas (A100 speed, 16k-token KV cache) at load {high.load:.2f}, "
               f"predictor {high.predictor}: TTFT p99 {rr['ttft_p99_s']:.2f} s with round-robin vs "
               f"{la['ttft_p99_s']:.2f} s with llm_la (pull + short-first); E2E mean {rr['e2e_mean_s']:.2f} vs "
               f"{la['e2e_mean_s']:.2f} s. Same table: sysai llm-la compare --replica-config constrained --requests "
               f"{high.requests}.")
    figures = [f for f in high.files if f.suffix == ".png" and (f.stem == "latency_cdf" or "round_robin" in f.stem
                                                                 or "llm_la" in f.stem)]
    return TourSection("LLM-LA: routing policies on a real trace (SimPy)", summary, COLUMNS, rows, figures,
                       {"requests": high.requests, "load": high.load, "predictor": high.predictor,
                        "policies": high.policies}, kind="simulated")
