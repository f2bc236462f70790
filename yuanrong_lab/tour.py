"""The lab's headline comparison for `sysai tour`: cold vs warm, by value vs by reference (live on
Ray), and the keep-alive trade-off (simulated at small scale), all measured in this run."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # sysai.tour pulls in numpy: keep `sysai --help` fast
    from sysai.tour import TourContext, TourSection


def tour(ctx: TourContext) -> TourSection:
    from sysai.tour import TourSection

    from yuanrong_lab.bench import chain, cold_starts, percentile, warm_vs_raw
    from yuanrong_lab.keepalive_sim import run_keepalive
    from yuanrong_lab.runtime import session
    from yuanrong_lab.workload import generate

    payload = 10_000_000 if ctx.quick else 100_000_000
    with session() as runtime:
        raw, warm = warm_vs_raw(runtime, 200 if ctx.quick else 500)
        colds = cold_starts(runtime, 3 if ctx.quick else 5)
        ch = chain(runtime, payload, stages=4, repeats=1)
    cold_p50 = statistics.median(r["total_ms"] for r in colds)
    workload = generate(80 if ctx.quick else 150, 48.0, ctx.seed)
    ka = run_keepalive(workload, ctx.seed, ctx.out, policies=None)
    h = ka.headline
    fixed, hybrid = ka.policies[h["fixed_at_similar_memory"]], ka.policies[h["hybrid"]]
    rows = [
        ["raw Ray actor call p50", round(percentile(raw, 50), 3), "ms"],
        ["warm invoke p50", round(percentile(warm, 50), 3), "ms"],
        ["cold start p50 (actor + import + init)", round(cold_p50, 1), "ms"],
        [f"4-stage chain {payload / 1e6:g} MB by value", round(ch["by_value_s"], 3), "s"],
        [f"4-stage chain {payload / 1e6:g} MB by reference", round(ch["by_reference_s"], 3), "s"],
        [f"keep-alive {h['fixed_at_similar_memory']}: p75 function cold starts", round(fixed["p75_function_cold_start_pct"], 1), "%"],
        [f"keep-alive {h['hybrid']}: p75 function cold starts", round(hybrid["p75_function_cold_start_pct"], 1), "%"],
        [f"{h['hybrid']} / {h['fixed_at_similar_memory']} idle memory-time", round(h["memory_ratio_hybrid_over_fixed"], 2), "x"],
    ]
    summary = (f"A cold start costs {cold_p50 / percentile(warm, 50):.0f}x a warm call "
               f"({cold_p50:.0f} ms vs {percentile(warm, 50):.2f} ms on a warm Ray actor); passing "
               f"{payload / 1e6:g} MB through 4 stages by reference is {ch['by_value_s'] / ch['by_reference_s']:.1f}x faster "
               f"than by value. Simulated ({ka.functions} functions, {ka.hours:g} h): at about the same idle "
               f"memory-time ({h['memory_ratio_hybrid_over_fixed']:.2f}x), the hybrid histogram policy gives the p75 "
               f"function {hybrid['p75_function_cold_start_pct']:.0f} % cold starts against "
               f"{fixed['p75_function_cold_start_pct']:.0f} % with {h['fixed_at_similar_memory']}.")
    return TourSection(
        title="openYuanrong: cold vs warm, by value vs by reference, keep-alive",
        summary=summary, columns=["measure", "value", "unit"], rows=rows,
        figures=[ctx.out / "keepalive_pareto.png"],
        results={"warm_invoke_ms_p50": percentile(warm, 50), "raw_ray_actor_call_ms_p50": percentile(raw, 50),
                 "cold_start_ms_p50": cold_p50, "chain": ch, "keepalive": ka.policies},
    )
