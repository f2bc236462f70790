"""Tables (and the figures' entry points) from the lab's results objects; nothing here computes."""

from __future__ import annotations

from pathlib import Path

from sysai.results import write_csv
from sysai.tables import print_table


def method_rows(methods: dict[str, dict[str, float]], keys=("ac1", "ac3", "avg5", "ms_per_case")) -> list[list]:
    return [[m] + [v.get(k) for k in keys] for m, v in methods.items()]


def show_folder(results) -> None:
    """`evaluate --cases DIR`: every method on a folder of cases."""
    graph = "with the call graph" if results.with_graph else "without a call graph"
    print_table(
        f"RCA on {results.cases} cases from {results.folder} ({graph})",
        ["method", "AC@1", "AC@3", "AC@5", "Avg@5", "ms/case"],
        method_rows(results.methods, ("ac1", "ac3", "ac5", "avg5", "ms_per_case")),
        note="baro and nsigma: RCAEval's own functions, same process, same cases",
    )
    faults = list(results.per_fault)
    print_table(
        "AC@1 per fault type",
        ["method"] + [f"{f} ({results.faults[f]})" for f in faults],
        [[m] + [results.per_fault[f][m]["ac1"] for f in faults] for m in results.methods],
    )
    for note in results.notes[:5]:
        print(f"  note: {note}")
    if len(results.notes) > 5:
        print(f"  … {len(results.notes) - 5} more notes in results.json")


def show_bench(results) -> None:
    """`bench`: one table per source, then the aims, with the ratio to BARO."""
    for source, methods in results.sources.items():
        baro = methods["baro"]
        rows = [
            [
                m,
                v["ac1"],
                v["avg5"],
                v["ac1"] / baro["ac1"] if baro["ac1"] else None,
                v["ms_per_case"],
                v["ms_per_case"] / baro["ms_per_case"] if baro["ms_per_case"] else None,
            ]
            for m, v in methods.items()
        ]
        print_table(
            f"{source}: {results.cases[source]} {results.split} cases (seed {results.seed})",
            ["method", "AC@1", "Avg@5", "AC@1 ÷ BARO", "ms/case", "ms ÷ BARO"],
            rows,
        )
        faults = list(results.per_fault[source])
        print_table(
            f"{source}: AC@1 per fault type",
            ["method"] + faults,
            [[m] + [results.per_fault[source][f][m]["ac1"] for f in faults] for m in methods],
        )
    print_table(
        "aims (foreign cases)",
        ["aim", "measured", "target", "met"],
        [[k, v["value"], v["aim"], v["met"]] for k, v in results.aims.items()],
        note="measured in-process on this machine; tuned on the dev split, reported on eval",
    )
    for note in results.notes:
        print(f"  note: {note}")


def _share(value: float | None) -> str:
    return "n/a (no such case)" if value is None else f"{value:.3f}"


def evaluation_files(results, records, raw, out: Path) -> None:
    """The evaluation's figures and per-case CSV into `out` (names relative to it, so the same seed
    gives the same results.json wherever it is written)."""
    from copilot_lab import figures
    from copilot_lab.evaluate import rank_of

    results.figures = [
        figures.accuracy_per_fault(results.per_fault, out / "accuracy_per_fault.png").name,
        figures.learning_curve(
            results.memory, results.methods["multi_agent"]["ac1"], out / "memory_learning_curve.png"
        ).name,
        figures.calibration(results.calibration, out / "calibration.png").name,
    ]
    write_csv(
        out / "cases.csv",
        [
            {
                "index": r.case.index,
                "system": r.case.system,
                "fault": r.case.fault,
                "root": r.case.root,
                "severity": round(r.case.severity, 3),
                **{f"rank_{f.agent}": rank_of(f.scores, r.case.root_index) for f in r.findings},
                "confidence_multi_agent": round(c, 4),
                "multi_agent_top1": bool(ok),
            }
            for r, c, ok in zip(records, raw["confidence"], raw["correct"])
        ],
    )


def show_evaluation(results) -> None:
    print_table(
        f"RCA on {results.cases} {results.split} cases ({', '.join(results.systems)}), seed {results.seed}",
        ["method", "AC@1", "AC@3", "Avg@5", "ms/case"],
        method_rows(results.methods),
        note=results.seeds_note,
    )
    faults = list(results.per_fault)
    print_table(
        "AC@1 per fault type",
        ["method"] + faults,
        [[m] + [results.per_fault[f][m]["ac1"] for f in faults] for m in results.methods],
    )
    c = results.calibration
    print_table(
        "coordinator: ablation (drop one juror) and abstention",
        ["setting", "AC@1", "Avg@5"],
        [["all jurors", results.methods["multi_agent"]["ac1"], results.methods["multi_agent"]["avg5"]]]
        + [[k, v["ac1"], v["avg5"]] for k, v in results.ablation.items()],
        note=(
            f"abstains on {c['abstain_rate']:.0%} of cases (confidence < {c['threshold']}); accuracy when it "
            f"answers {_share(c['accuracy_answered'])}, when it abstains {_share(c['accuracy_abstained'])}"
        ),
    )


def robustness_files(results, out: Path) -> None:
    """robustness.csv and one AC@1 figure per experiment group."""
    import numpy as np

    from copilot_lab.agents.base import juror_names
    from sysai.plotting import color, figure

    rows = results.rows
    write_csv(out / "robustness.csv", rows)
    results.figures = []
    for group in dict.fromkeys(r["experiment"] for r in rows):
        part = [r for r in rows if r["experiment"] == group]
        path = out / f"robustness_{group.split()[0]}.png"
        with figure(path, title=f"AC@1 vs {group}", xlabel=group, ylabel="AC@1") as ax:
            x = np.arange(len(part))
            for i, m in enumerate(juror_names() + ["multi_agent"]):
                ax.plot(x, [r[m] for r in part], marker="o", label=m, color=color(i))
            ax.set_xticks(x, [r["setting"] for r in part])
            ax.set_ylim(0, 1.05)
        results.figures.append(path.name)


def show_robustness(results) -> None:
    from copilot_lab.agents.base import juror_names

    cols = juror_names() + ["multi_agent"]
    print_table(
        f"robustness: AC@1, {results.cases_per_setting} eval cases per setting",
        ["experiment", "setting"] + cols,
        [[r["experiment"], r["setting"]] + [r[m] for m in cols] for r in results.rows],
    )


def show_inject(results: dict) -> None:
    keys = ("system", "fault", "root", "severity", "onset_time", "seed")
    print_table("injected case", ["what", "value"], [[k, str(results[k])] for k in keys])
    print(f"next: {results['diagnose']}")


def show_diagnosis(report: dict) -> None:
    print_table(
        "root-cause ranking",
        ["#", "service", "share"],
        [[i + 1, r["service"], r["share"]] for i, r in enumerate(report["ranking"])],
        note=f"confidence {report['confidence']:.2f}"
        + (" — ABSTAIN: below threshold, ask a human" if report["abstain"] else ""),
    )
    for line in report["explanation"]:
        print("  " + line)
    for line in report["notes"]:
        print("  note: " + line)


def skills_files(results, out: Path) -> None:
    """accuracy_vs_cost.png: AC@1 against agent calls per case, one point per method."""
    from sysai.plotting import color, figure

    path = out / "accuracy_vs_cost.png"
    with figure(path, title="skills: accuracy vs cost", xlabel="agent calls per case", ylabel="AC@1") as ax:
        for i, (m, v) in enumerate(results.methods.items()):
            ax.scatter([v["agent_calls"]], [v["ac1"]], color=color(i), label=f"{m} ({v['ms_per_case']:.1f} ms)", s=60)
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=8)
    results.figures = [path.name]


def show_skills(results) -> None:
    print_table(
        f"skills vs the all-jurors jury: {results.cases} eval cases after {results.warmup} dev cases "
        f"({', '.join(results.systems)}), seed {results.seed}",
        ["method", "AC@1", "agent calls", "ms/case", "flagged low", "AC@1 flagged", "AC@1 not flagged"],
        [
            [
                m,
                v["ac1"],
                v["agent_calls"],
                v["ms_per_case"],
                v.get("low_confidence_share"),
                v.get("ac1_when_flagged"),
                v.get("ac1_when_not_flagged"),
            ]
            for m, v in results.methods.items()
        ],
        note="ms/case: the agents the method consulted (measured per case) plus the skill trigger",
    )
    print_table(
        "skill library",
        ["planner", "created", "merged", "retired", "size", "active"],
        [[k, v["created"], v["merged"], v["retired"], v["size"], v["active"]] for k, v in results.library.items()],
    )
    print_table(
        "retrieval precision by library size (largest budget)",
        ["library size", "cases", "retrieved", "precision"],
        [[r["library_size"], r["cases"], r["retrieved"], r["precision"]] for r in results.precision_by_size],
    )
    print_table(
        "largest skills",
        ["cases", "steps", "learned from", "used", "right"],
        [
            [
                s["cases"],
                " → ".join(s["steps"]),
                ", ".join(f"{k} {v}" for k, v in s["faults"].items()),
                s["uses"],
                s["successes"],
            ]
            for s in results.example_skills
        ],
    )


def show_memory(results) -> None:
    methods = ["multi_agent", "multi_agent_memory", "multi_agent_skills", "skills_planner"]
    rows = []
    for r in results.settings:
        rows.append([r["setting"]] + [r[m] for m in methods])
        if "held_out_share" in r:
            rows.append(
                [f"  … on the held-out types ({r['held_out_share']:.0%} of cases)"]
                + [r[f"{m}_on_held_out"] for m in methods]
            )
    print_table(
        f"AC@1 with and without memory and skills: {results.cases} eval cases, {results.warmup} dev cases "
        f"remembered first (seed {results.seed})",
        ["setting"] + methods,
        rows,
        note=f"held out of memory: {', '.join(results.held_out)}; with two roots a hit names either first",
    )
