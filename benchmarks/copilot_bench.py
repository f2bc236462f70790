"""Lab 4 benchmark: time per diagnosis, per agent and in total, on both shipped systems.

    python benchmarks/copilot_bench.py [--cases 40] [--seed 42]

Prints, side by side in one run, the milliseconds per case of each juror, of the whole jury
(four agents + fusion + memory), and of generating a case, against the 50 ms aim and BARO's
~10 ms per case reported by RCAEval. Ratios, not absolute speed, are what travel between machines.
"""

from __future__ import annotations

import argparse

import numpy as np

from copilot_lab.agents.base import juror_names
from copilot_lab.coordinator import FusionConfig, fuse
from copilot_lab.evaluate import collect, run_memory
from copilot_lab.memory import ExperienceMemory
from copilot_lab.system import load_system
from sysai.tables import print_table
from sysai.timing import Timer

AIM_MS = 50.0
BARO_MS = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rows = []
    for name in ("shop", "platform"):
        system = load_system(name)
        with Timer() as gen:
            records = collect([system], args.cases, args.seed, "eval")
        fusion = FusionConfig()
        with Timer() as fusing:
            for rec in records:
                fuse(rec.findings, fusion.weights, fusion.sharpen)
        memory_ms = np.mean(run_memory(records, fusion, ExperienceMemory())["ms"])
        per_agent = {a: float(np.mean([r.ms[a] for r in records])) for a in juror_names()}
        total = sum(per_agent.values()) + fusing.elapsed_ms / len(records) + memory_ms
        # generation includes running the agents inside collect(); subtract them to show it alone
        generate = gen.elapsed_ms / len(records) - sum(per_agent.values()) - float(np.mean([r.ms["signature"] for r in records]))
        rows.append([name, system.n, *[per_agent[a] for a in juror_names()], total, total / AIM_MS, total / BARO_MS, generate])
    print_table(f"ms per case ({args.cases} eval cases per system)",
                ["system", "services", *juror_names(), "jury total", "÷ 50 ms aim", "÷ BARO 10 ms", "generate"], rows)


if __name__ == "__main__":
    main()
