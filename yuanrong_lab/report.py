"""Tables and figures from the lab's results objects (experiments.py, bench.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sysai.plotting import color, figure
from sysai.results import write_csv
from sysai.tables import print_table


# --- keep-alive ------------------------------------------------------------------------------------
def write_keepalive(results: Any, folder: Path) -> None:
    """policies.csv, functions.csv and the Pareto figure; their paths go into ``results.figures``."""
    write_csv(
        folder / "policies.csv",
        [
            {"variant": name, **{k: v for k, v in row.items() if k not in ("cold_start_pct_by_kind", "options")}}
            for name, row in results.policies.items()
        ],
    )
    write_csv(
        folder / "functions.csv", [{"policy": o.policy, **row} for o in results.outcomes for row in o.per_function]
    )
    results.figures = [str(pareto_figure(results, folder / "keepalive_pareto.png"))]


def pareto_figure(results: Any, path: Path) -> Path:
    """Both measures against idle memory-time, every variant of the sweep, the fronts marked."""
    table = results.policies
    families = sorted({row["policy"] for row in table.values()})
    panels = (
        ("cold_start_pct", "cold starts, all calls (%)", results.pareto_overall),
        ("p75_function_cold_start_pct", "p75 across functions of cold-start %", results.pareto_per_function),
    )
    with figure(
        path,
        title="Keep-alive: cold starts vs idle memory-time (every variant of the sweep)",
        xlabel="idle memory-time (GB·s)",
        ncols=2,
        size=(7.5, 5.5),
    ) as axes:
        for ax, (metric, label, front) in zip(axes, panels):
            ax.set_ylabel(label)
            for i, family in enumerate(families):
                points = sorted(
                    (row["idle_memory_gb_s"], row[metric], name)
                    for name, row in table.items()
                    if row["policy"] == family
                )
                xs, ys, names = zip(*points)
                ax.plot(xs, ys, marker="os^Dv<>"[i % 7], color=color(i), label=family)
                for x, y, name in points:
                    ax.annotate(
                        name[len(family) + 1 :] or name, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8
                    )
            fx = sorted((table[n]["idle_memory_gb_s"], table[n][metric]) for n in front)
            if fx:
                ax.plot(*zip(*fx), linestyle=":", color="black", linewidth=1.0, label="Pareto front")
    return path


def show_keepalive(results: Any) -> None:
    kinds = sorted(next(iter(results.policies.values()))["cold_start_pct_by_kind"])[:4]
    rows = [
        [
            name,
            r["cold_start_pct"],
            r["p75_function_cold_start_pct"],
            r["idle_memory_gb_s"],
            "o" if name in results.pareto_overall else "",
            "o" if name in results.pareto_per_function else "",
            *(r["cold_start_pct_by_kind"].get(k) for k in kinds),
        ]
        for name, r in sorted(results.policies.items(), key=lambda kv: kv[1]["idle_memory_gb_s"])
    ]
    print_table(
        "keep-alive policies (simulated)",
        ["policy", "cold %", "p75 fn cold %", "idle GB·s", "front", "front p75", *kinds],
        rows,
        note=f"{results.workload}: {results.invocations:,} invocations.\n{keepalive_statement(results)}\n"
        "front: on the Pareto front of (idle memory, cold %); last columns: cold % per kind of function.",
    )


def keepalive_statement(results: Any) -> str:
    """The headline, stated per function and overall at the same idle memory-time."""
    h = results.headline
    if not h:
        return "(no hybrid-vs-fixed headline: the sweep lacks one of the two, or hybrid is outside the fixed range)"
    lo, hi = h["fixed_between"]
    return (
        f"At {h['hybrid']}'s idle memory-time ({h['hybrid_idle_memory_gb_s']:,.0f} GB·s), a fixed TTL "
        f"(interpolated between {lo} and {hi}) gives {h['fixed_cold_pct_same_memory']:.2f} % cold starts overall vs "
        f"hybrid {h['hybrid_cold_pct']:.2f} %; per function (p75) {h['fixed_p75_cold_pct_same_memory']:.1f} % vs "
        f"hybrid {h['hybrid_p75_cold_pct']:.1f} %."
    )


# --- autoscaler ------------------------------------------------------------------------------------
def write_autoscale(results: Any, folder: Path) -> None:
    path = folder / "autoscale_p99.png"
    s = results.scenario
    with figure(
        path, title=f"Burst of {s.burst_rps:g} calls/s for {s.burst_s:g} s", ylabel="p99 latency (s)", size=(9.0, 5.0)
    ) as ax:
        ax.bar(range(len(results.variants)), [o["p99_ms"] / 1e3 for o in results.variants.values()])
        ax.set_xticks(range(len(results.variants)), list(results.variants), rotation=15, fontsize=10)
    results.figures = [str(path)]


def show_autoscale(results: Any) -> None:
    rows = [
        [
            k,
            v["p50_ms"],
            v["p99_ms"],
            v["cold_starts"],
            v["instances_started"],
            v["peak_instances"],
            v["idle_instance_s"],
        ]
        for k, v in results.variants.items()
    ]
    print_table(
        "autoscaler under a burst (simulated)",
        [
            "setting",
            "p50 ms",
            "p99 ms",
            "calls on a cold start",
            "instances started",
            "peak instances",
            "idle instance·s",
        ],
        rows,
        note=_queue_note(results.scenario.central_queue),
    )


def _queue_note(central_queue: bool) -> str:
    if central_queue:
        return ("Calls that find no free slot wait in one queue (the gateway's path) and take the first slot "
                "that frees on a ready instance, old or new.")
    return ("Calls that find no free slot queue behind one busy instance (the Python API's path); "
            "scale-ups start idle instances that serve later calls.")


# --- live benchmark --------------------------------------------------------------------------------
def bench_rows(results: Any) -> list[list[Any]]:
    b = results.cold_start_breakdown_ms
    return [
        ["raw Ray actor call p50 (ms)", results.raw_ray_actor_call_ms_p50],
        ["warm invoke p50 (ms)", results.warm_invoke_ms_p50],
        ["warm invoke p99 (ms)", results.warm_invoke_ms_p99],
        ["warm overhead over raw p50 (ms)", results.warm_overhead_ms_p50],
        ["cold start p50 (ms)", results.cold_start_ms_p50],
        *[[f"  cold: {k.removesuffix('_ms')} (ms)", v] for k, v in b.items() if k != "total_ms"],
        *[
            [f"HTTP call {k.removesuffix('_p50').replace('_', ' ')} p50 (ms)", v]
            for k, v in results.http_calls_ms.items()
        ],
        *[
            [f"gateway hey -c 16, {run}: {k.replace('_', ' ')}", v]
            for run, r in results.gateway.items()
            for k, v in r.items()
        ],
        *[
            [f"chain {c['payload_mb']:g} MB x{c['stages']}: {path} (s)", c[path]]
            for c in results.chain_sizes
            for path in ("by_reference_s", "by_value_s", "classic_faas_s")
            if path in c
        ],
        *[[f"3-node chain {k.replace('_', ' ')}", v] for k, v in results.placement.items()],
    ]


def show_bench(results: Any) -> None:
    print_table("yuanrong live benchmark", ["measure", "value"], bench_rows(results), note=results.note)
