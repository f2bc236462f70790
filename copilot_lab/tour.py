"""The tour's copilot section: random vs each agent vs the coordinator (with and without memory)."""

from __future__ import annotations

from pathlib import Path


def evaluation_section(out: Path, seed: int, quick: bool):
    from copilot_lab.agents.base import juror_names
    from copilot_lab.experiments import evaluation
    from copilot_lab.report import evaluation_files, method_rows
    from sysai.tour import TourSection

    cases = 70 if quick else 210
    results, records, raw = evaluation(cases, "shop" if quick else "both", "eval", 30 if quick else 100, 0.7, seed)
    evaluation_files(results, records, raw, out)
    best_single = max(results.methods[m]["ac1"] for m in juror_names())
    delay = results.per_fault.get("network_delay", {})
    summary = (
        f"{results.cases} seeded fault cases ({', '.join(results.systems)}; eval split, tuned on dev). "
        f"Best single agent AC@1 {best_single:.2f}; coordinator {results.methods['multi_agent']['ac1']:.2f}, "
        f"with memory {results.methods['multi_agent_memory']['ac1']:.2f}. "
        + (
            f"Network delay AC@1: metric agent {delay['metric']['ac1']:.2f} vs coordinator "
            f"{delay['multi_agent']['ac1']:.2f}. "
            if delay
            else ""
        )
        + "Toy accuracy: read it relative to the baselines, not as a real-world number."
    )
    return TourSection(
        "EulerCopilot: root-cause analysis, AC@k by method",
        summary,
        ["method", "AC@1", "AC@3", "Avg@5", "ms/case"],
        method_rows(results.methods),
        [out / f for f in results.figures],
        {"cases": results.cases, "methods": results.methods},
        kind="simulated",
    )
