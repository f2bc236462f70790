"""Tables printed by the commands and the tour."""

from __future__ import annotations

from typing import Any

from sysai.tables import print_table

COLUMNS = ["policy", "E2E mean s", "E2E p99 s", "TTFT p99 s", "TPOT ms", "SLO att.", "preempt", "prefix hit",
           "rejected", "imbal. CV", "Δ mean vs RR", "Δ p99 vs RR"]


def compare_rows(policies: dict[str, dict[str, Any]]) -> list[list[Any]]:
    base = policies.get("round_robin")
    rows = []
    for name, s in policies.items():
        rows.append([name, s["e2e_mean_s"], s["e2e_p99_s"], s["ttft_p99_s"], s["tpot_mean_s"] * 1e3,
                     s["slo_attainment"], s["preemptions"], f"{100 * s.get('prefix_hit_rate', 0):.0f} %",
                     s.get("rejected", 0), s.get("imbalance_cv"),
                     _delta(s["e2e_mean_s"], base and base["e2e_mean_s"]),
                     _delta(s["e2e_p99_s"], base and base["e2e_p99_s"])])
    return rows


def _delta(value: float, base: float | None) -> str:
    return f"{100 * (value / base - 1):+.1f} %" if base else "—"


def compare_table(results) -> None:
    note = (f"{results.requests:,} requests of {results.workload} at {results.rate_rps:.1f} req/s = load "
            f"{results.load:.2f} of {results.capacity_rps:.1f} req/s capacity, {results.instances} replicas, "
            f"predictor {results.predictor}, refresh {results.refresh_s:g} s; simulated in {results.sim_wall_s:.1f} s")
    print_table("LLM-LA: policies on one workload (simulated)", COLUMNS, compare_rows(results.policies), note=note)


def sweep_table(results) -> None:
    rows = [[p["policy"], p["x"], p["e2e_mean_s"], p["e2e_p99_s"], p["ttft_p99_s"], p["slo_attainment"]]
            for p in results.points]
    print_table(f"LLM-LA sweep over {results.vary}", ["policy", results.vary, "E2E mean s", "E2E p99 s", "TTFT p99 s",
                                                      "SLO att."], rows,
                note=f"{len(results.points)} points on Ray in {results.wall_s:.1f} s")
