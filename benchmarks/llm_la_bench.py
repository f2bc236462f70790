"""LLM-LA benchmark: simulator speed, and every policy against round-robin across load.

    .venv/bin/python benchmarks/llm_la_bench.py [--quick] [--out results/llm-la/bench]

1. Speed: 20,000 requests of the Azure conv trace (its 19,366 rows, then its first rows again,
   shifted past the end) on 8 replicas at ρ = 0.85, one policy at a time in this one process
   (one core): simulated requests per wall second, side by side.
2. Gains: the conv trace at ρ ∈ {0.3, 0.6, 0.85, 0.95, 1.2} on 8 replicas, every policy's E2E
   mean/p99 and TTFT p99 relative to round-robin, for the default replica (A100-80GB KV cache) and
   for a memory-constrained one (1,000 KV blocks, 32 sequences).
3. With ``--knobs``: llm_la's two knobs (short-first aging, KV limit of "room") against
   round-robin on the constrained replica at ρ = 0.85 and 0.95 — the mean-vs-tail trade-off.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from sysai.plotting import color, figure
from sysai.results import write_json
from sysai.tables import print_table
from sysai.timing import Timer

from llm_la_lab.capacity import saturation_rate
from llm_la_lab.experiments import ALL_POLICIES, Setup, build_workload, run_policy
from llm_la_lab.replica import REPLICA_PRESETS, ReplicaConfig
from llm_la_lab.workload import Workload, load_trace

LOADS = [0.3, 0.6, 0.85, 0.95, 1.2]
CONFIGS = {"a100-80gb": ReplicaConfig(), "constrained": REPLICA_PRESETS["constrained"]}


def conv_requests(n: int) -> Workload:
    conv = load_trace("conv")
    reps = -(-n // len(conv))
    gap = float(np.mean(np.diff(conv.arrival)))
    span = float(conv.arrival[-1]) + gap
    arrival = np.concatenate([conv.arrival + k * span for k in range(reps)])[:n]
    return Workload("conv", arrival, np.tile(conv.prompt, reps)[:n], np.tile(conv.output, reps)[:n])


def at_load(setup: Setup, base: Workload, load: float) -> Workload:
    capacity = saturation_rate(base.prompt, base.output, setup.instances, setup.replica, setup.latency)
    return base.at_rate(load * capacity)


def speed(n: int) -> list[dict]:
    setup = Setup(instances=8)
    workload = at_load(setup, conv_requests(n), 0.85)
    rows = []
    for policy in ALL_POLICIES:
        with Timer() as timer:
            run_policy(setup, workload, policy)
        rows.append({"policy": policy, "requests": n, "wall_s": timer.elapsed, "requests_per_s": n / timer.elapsed})
    return rows


def gains(n: int) -> list[dict]:
    rows = []
    for config_name, config in CONFIGS.items():
        setup = Setup(instances=8, replica=config)
        base = load_trace("conv").head(n)
        for load in LOADS:
            workload = at_load(setup, base, load)
            results = {p: run_policy(dataclasses.replace(setup, load=load), workload, p)[0] for p in ALL_POLICIES}
            rr = results["round_robin"]
            for policy, s in results.items():
                rows.append({"replica": config_name, "load": load, "policy": policy, "e2e_mean_s": s["e2e_mean_s"],
                             "e2e_p99_s": s["e2e_p99_s"], "ttft_p99_s": s["ttft_p99_s"],
                             "e2e_mean_vs_rr": s["e2e_mean_s"] / rr["e2e_mean_s"] - 1,
                             "e2e_p99_vs_rr": s["e2e_p99_s"] / rr["e2e_p99_s"] - 1,
                             "ttft_p99_vs_rr": s["ttft_p99_s"] / rr["ttft_p99_s"] - 1})
    return rows


def knobs(n: int) -> list[dict]:
    rows = []
    for load in (0.85, 0.95):
        setup = Setup(requests=n, load=load, replica=REPLICA_PRESETS["constrained"])
        workload, _, _ = build_workload(setup)
        rr, _ = run_policy(setup, workload, "round_robin")
        for aging in (10.0, 50.0, 100.0, float("inf")):
            for kv_limit in (0.8, 0.9):
                knobbed = dataclasses.replace(setup, policy_options={"llm_la": {"aging_tokens_s": aging,
                                                                                "kv_limit": kv_limit}})
                la, _ = run_policy(knobbed, workload, "llm_la")
                rows.append({"load": load, "aging_tokens_s": aging, "kv_limit": kv_limit,
                             **{f"{m}_vs_rr": la[m] / rr[m] - 1 for m in ("e2e_mean_s", "e2e_p99_s", "ttft_p99_s")}})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 requests instead of 20,000 / 19,366")
    parser.add_argument("--out", type=Path, default=Path("results/llm-la/bench"))
    parser.add_argument("--knobs", action="store_true", help="also scan llm_la's aging and KV-limit knobs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    speed_rows = speed(2000 if args.quick else 20000)
    print_table("simulation speed (one process, 8 replicas, conv trace, ρ=0.85)", ["policy", "requests", "wall s",
                "simulated requests / s"], [[r["policy"], r["requests"], r["wall_s"], r["requests_per_s"]]
                                           for r in speed_rows])
    gain_rows = gains(2000 if args.quick else 19366)
    for config_name in CONFIGS:
        mine = [r for r in gain_rows if r["replica"] == config_name]
        print_table(f"every policy vs round-robin, conv trace, 8 replicas, replica {config_name}",
                    ["load", "policy", "E2E mean s", "Δ mean", "E2E p99 s", "Δ p99", "TTFT p99 s", "Δ TTFT p99"],
                    [[r["load"], r["policy"], r["e2e_mean_s"], f"{100 * r['e2e_mean_vs_rr']:+.1f} %", r["e2e_p99_s"],
                      f"{100 * r['e2e_p99_vs_rr']:+.1f} %", r["ttft_p99_s"], f"{100 * r['ttft_p99_vs_rr']:+.1f} %"]
                     for r in mine])
        with figure(args.out / f"gain_vs_load_{config_name}.png", title=f"mean E2E vs round-robin ({config_name})",
                    xlabel="offered load ρ", ylabel="relative change of mean E2E (%)") as ax:
            for i, policy in enumerate(p for p in ALL_POLICIES if p != "round_robin"):
                points = [(r["load"], 100 * r["e2e_mean_vs_rr"]) for r in mine if r["policy"] == policy]
                ax.plot(*zip(*points), marker="o", label=policy, color=color(i))
            ax.axhline(0, color="black", linewidth=1)
    with figure(args.out / "speed.png", title="simulated requests per wall second", xlabel="policy",
                ylabel="requests / s") as ax:
        ax.bar([r["policy"].replace("_", "\n") for r in speed_rows], [r["requests_per_s"] for r in speed_rows],
               color=[color(i) for i in range(len(speed_rows))])
        ax.axhline(5000, color="black", linestyle="--", label="target 5,000/s")
    knob_rows = knobs(2000 if args.quick else 19366) if args.knobs else []
    if knob_rows:
        print_table("llm_la knobs vs round-robin (constrained replica; aging inf = FIFO central queue)",
                    ["load", "aging tok/s", "KV limit", "Δ E2E mean", "Δ E2E p99", "Δ TTFT p99"],
                    [[r["load"], r["aging_tokens_s"], r["kv_limit"]] + [f"{100 * r[k]:+.1f} %" for k in
                     ("e2e_mean_s_vs_rr", "e2e_p99_s_vs_rr", "ttft_p99_s_vs_rr")] for r in knob_rows])
    write_json(args.out / "results.json", {"speed": speed_rows, "gains": gain_rows, "knobs": knob_rows})
    print(f"results: {args.out}/")


if __name__ == "__main__":
    main()
