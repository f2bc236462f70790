"""Tables printed by the commands and the tour (figures: :mod:`llm_la_lab.plots`).

Every table names the predictor behind its numbers: with the oracle, load-aware policies look
better than any deployed router can be.
"""

from __future__ import annotations

from typing import Any

from sysai.tables import print_table

COLUMNS = ["policy", "E2E mean", "E2E p99", "TTFT p99", "TPOT ms", "SLO", "preempt", "hit", "rej.", "CV", "Δ mean",
           "Δ p99"]
COLUMNS_NOTE = ("latencies in s; SLO = attainment; hit = prefix-cache hit rate; rej. = rejected (too long); "
                "CV = load imbalance; Δ vs round_robin")


def compare_rows(policies: dict[str, dict[str, Any]]) -> list[list[Any]]:
    base = policies.get("round_robin")
    rows = []
    for name, s in policies.items():
        rows.append([name, s["e2e_mean_s"], s["e2e_p99_s"], s["ttft_p99_s"], s["tpot_mean_s"] * 1e3,
                     s["slo_attainment"], s["preemptions"], f"{100 * s.get('prefix_hit_rate', 0):.0f}%",
                     s.get("rejected", 0), s.get("imbalance_cv"),
                     _delta(s["e2e_mean_s"], base and base["e2e_mean_s"]),
                     _delta(s["e2e_p99_s"], base and base["e2e_p99_s"])])
    return rows


def _delta(value: float, base: float | None) -> str:
    return f"{100 * (value / base - 1):+.1f}%" if base else "—"


def compare_note(results) -> str:
    return (f"{results.requests:,} requests of {results.workload} at {results.rate_rps:.1f} req/s = load "
            f"{results.load:.2f} of {results.capacity_rps:.1f} req/s capacity, {results.instances} replicas "
            f"({results.cluster}), predictor {results.predictor}, refresh {results.refresh_s:g} s; "
            f"simulated in {results.sim_wall_s:.1f} s. {COLUMNS_NOTE}")


def compare_table(results) -> None:
    print_table("LLM-LA: policies on one workload (simulated)", COLUMNS, compare_rows(results.policies),
                note=compare_note(results))


def sweep_table(results) -> None:
    rows = [[p["policy"], p["x"], p["e2e_mean_s"], p["e2e_p99_s"], p["ttft_p99_s"], p["slo_attainment"]]
            for p in results.points]
    predictors = sorted({p["predictor"] for p in results.points})
    print_table(f"LLM-LA sweep over {results.vary}", ["policy", results.vary, "E2E mean s", "E2E p99 s", "TTFT p99 s",
                                                      "SLO att."], rows,
                note=f"{len(results.points)} points on Ray in {results.wall_s:.1f} s; "
                     f"predictor {', '.join(predictors)}")


BENCH_COLUMNS = ["policy", "TTFT p50", "TTFT p90", "TTFT p99", "E2E mean", "E2E p99", "hit", "CV", "rej.",
                 "Δ TTFT p90"]


def bench_rows(policies: dict[str, dict[str, Any]]) -> list[list[Any]]:
    base = policies.get("round_robin")
    return [[name, s["ttft_p50_s"], s["ttft_p90_s"], s["ttft_p99_s"], s["e2e_mean_s"], s["e2e_p99_s"],
             f"{100 * s['prefix_hit_rate']:.1f}%", s.get("imbalance_cv"), s["rejected"],
             _delta(s["ttft_p90_s"], base and base["ttft_p90_s"])] for name, s in policies.items()]


def bench_tables(results) -> None:
    for part in results.workloads:
        print_table(f"LLM-LA bench: {part.title}", BENCH_COLUMNS, bench_rows(part.compare.policies),
                    note=compare_note(part.compare))
    rows = [[s["policy"], s["mode"], s["requests"], s["sim_wall_s"], s["requests_per_s"], s["e2e_mean_s"]]
            for s in results.speed]
    print_table("LLM-LA bench: simulator speed (one process, one core)", ["policy", "mode", "requests", "wall s",
                "requests / wall s", "E2E mean s"], rows, note=results.speed_note)


def agreement_table(results) -> None:
    rows = [[p, results.sim[p]["e2e_mean_s"], results.live[p]["e2e_mean_s"], results.sim[p]["ttft_mean_s"],
             results.live[p]["ttft_mean_s"], results.sim[p]["tpot_mean_s"] * 1e3, results.live[p]["tpot_mean_s"] * 1e3,
             f"{100 * results.relative_error[p]['e2e_mean_s']:+.1f} %", results.live[p]["errors"]]
            for p in results.sim]
    print_table("LLM-LA: simulator vs live proxy + mock engines", ["policy", "E2E sim", "E2E live", "TTFT sim",
                "TTFT live", "TPOT sim ms", "TPOT live ms", "Δ E2E", "errors"], rows,
                note=f"ranking sim {results.sim_ranking} / live {results.live_ranking} "
                     f"({'agree' if results.ranking_agrees else 'DIFFER'} beyond ±{results.rank_margin:.0%}); "
                     f"means within ±{results.tolerance:.0%}: {'yes' if results.within_tolerance else 'NO'}; "
                     f"{results.wall_s:.1f} s wall; predictor {results.predictor}. "
                     "The simulator uses the poll interval the proxy achieved ("
                     + ", ".join(f"{p} {1e3 * v:.1f} ms" for p, v in results.achieved_poll_s.items())
                     + f" wall, configured {1e3 * results.poll_s:.0f} ms); with the configured one it predicts E2E "
                     + ", ".join(f"{p} {results.nominal_sim[p]['e2e_mean_s']:.2f} s" for p in results.nominal_sim))


def replay_table(results: dict) -> None:
    skip = {"url", "requests", "time_scale", "first_error"}
    rows = [[k, v] for k, v in results.items() if k not in skip]
    note = (f"{results['errors']} of {results['requests']} failed; first error: {results['first_error']}"
            if results["first_error"] else None)
    print_table(f"replay of {results['requests']} requests against {results['url']}", ["metric", "value"], rows,
                note=note)


def plugins_table() -> None:
    from llm_la_lab.cluster import PRESETS
    from llm_la_lab.policies.base import POLICIES
    from llm_la_lab.predictors.base import PREDICTORS

    rows = [[kind, p.name, "yes" if p.default else "", p.summary]
            for kind, registry in (("policy", POLICIES), ("predictor", PREDICTORS)) for p in registry.describe()]
    rows += [["replica preset", name, "yes" if name == "a100-80gb" else "",
              f"{preset.what}; KV cache {preset.config.kv_blocks * preset.config.block_size:,} tokens"]
             for name, preset in PRESETS.items()]
    print_table("LLM-LA plug-ins and presets", ["kind", "name", "default", "what"], rows)
    options = [[f"{kind} {p.name}", key, default, text]
               for kind, registry in (("policy", POLICIES), ("predictor", PREDICTORS)) for p in registry.describe()
               for key, default, text in p.options]
    if options:
        print_table("options (policies: --set POLICY.KEY=VALUE or --policy-config FILE.yaml)",
                    ["plugin", "option", "default", "what"], options)
