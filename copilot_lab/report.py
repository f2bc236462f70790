"""Tables (and the figures' entry points) from the lab's results objects; nothing here computes."""

from __future__ import annotations

from sysai.tables import print_table


def method_rows(methods: dict[str, dict[str, float]], keys=("ac1", "ac3", "avg5", "ms_per_case")) -> list[list]:
    return [[m] + [v.get(k) for k in keys] for m, v in methods.items()]


def show_folder(results) -> None:
    """`evaluate --cases DIR`: every method on a folder of cases."""
    graph = "with the call graph" if results.with_graph else "without a call graph"
    print_table(f"RCA on {results.cases} cases from {results.folder} ({graph})",
                ["method", "AC@1", "AC@3", "AC@5", "Avg@5", "ms/case"],
                method_rows(results.methods, ("ac1", "ac3", "ac5", "avg5", "ms_per_case")),
                note="baro and nsigma: RCAEval's own functions, same process, same cases")
    faults = list(results.per_fault)
    print_table("AC@1 per fault type", ["method"] + [f"{f} ({results.faults[f]})" for f in faults],
                [[m] + [results.per_fault[f][m]["ac1"] for f in faults] for m in results.methods])
    for note in results.notes[:5]:
        print(f"  note: {note}")
    if len(results.notes) > 5:
        print(f"  … {len(results.notes) - 5} more notes in results.json")
