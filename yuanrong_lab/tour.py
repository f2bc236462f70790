"""The lab's headline comparison for `sysai tour`: cold vs warm and by value vs by reference,
*measured* live on Ray in this run; the keep-alive trade-off *simulated* (SimPy) at small scale."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # sysai.tour pulls in numpy: keep `sysai --help` fast
    from sysai.tour import TourContext, TourSection


def tour(ctx: TourContext) -> TourSection:
    from sysai.tour import TourSection

    from yuanrong_lab import experiments, report
    from yuanrong_lab.bench import chain, cold_starts, percentile, warm_vs_raw
    from yuanrong_lab.runtime import session

    payload = 10_000_000 if ctx.quick else 100_000_000
    with session() as runtime:
        raw, warm = warm_vs_raw(runtime, 200 if ctx.quick else 500)
        colds = cold_starts(runtime, 3 if ctx.quick else 5)
        ch = chain(runtime, payload, stages=4, repeats=1)
    cold_p50 = statistics.median(r["total_ms"] for r in colds)
    ka = experiments.keepalive(80 if ctx.quick else 150, 48.0, seed=ctx.seed)
    report.write_keepalive(ka, ctx.out)
    h = ka.headline
    rows = [
        ["raw Ray actor call p50 (measured)", round(percentile(raw, 50), 3), "ms"],
        ["warm invoke p50 (measured)", round(percentile(warm, 50), 3), "ms"],
        ["cold start p50: actor + import + init (measured)", round(cold_p50, 1), "ms"],
        [f"4-stage chain {payload / 1e6:g} MB by value (measured)", round(ch["by_value_s"], 3), "s"],
        [f"4-stage chain {payload / 1e6:g} MB by reference (measured)", round(ch["by_reference_s"], 3), "s"],
    ]
    if h:
        rows += [
            [f"{h['hybrid']}: cold starts overall (simulated)", round(float(h["hybrid_cold_pct"]), 2), "%"],
            [
                "fixed TTL at the same idle memory: overall (simulated)",
                round(float(h["fixed_cold_pct_same_memory"]), 2),
                "%",
            ],
            [f"{h['hybrid']}: p75 function cold starts (simulated)", round(float(h["hybrid_p75_cold_pct"]), 1), "%"],
            [
                "fixed TTL at the same idle memory: p75 (simulated)",
                round(float(h["fixed_p75_cold_pct_same_memory"]), 1),
                "%",
            ],
        ]
    summary = (
        f"Measured on Ray in this run: a cold start costs {cold_p50 / percentile(warm, 50):.0f}x a warm call "
        f"({cold_p50:.0f} ms vs {percentile(warm, 50):.2f} ms); passing {payload / 1e6:g} MB through 4 stages "
        f"by reference is {ch['by_value_s'] / ch['by_reference_s']:.1f}x faster than by value. Simulated "
        f"({ka.functions} functions, {ka.hours:g} h; the hybrid policy is ATC'20's, not openYuanrong's): "
        + report.keepalive_statement(ka)
    )
    return TourSection(
        title="openYuanrong: cold vs warm, by value vs by reference (measured), keep-alive (simulated)",
        summary=summary,
        columns=["measure", "value", "unit"],
        rows=rows,
        figures=[ctx.out / "keepalive_pareto.png"],
        results={
            "warm_invoke_ms_p50": percentile(warm, 50),
            "raw_ray_actor_call_ms_p50": percentile(raw, 50),
            "cold_start_ms_p50": cold_p50,
            "chain": ch,
            "keepalive": ka.policies,
            "keepalive_headline": h,
        },
    )
