"""`--topology` from elsewhere: the lab's own system spec *or* a plain call graph.

A plain call graph is what most operators can export (a service mesh, a tracing backend, a CMDB),
in JSON or YAML::

    {"services": ["frontend", "cart", "redis"],          # optional: the calls name them too
     "calls": [["frontend", "cart"], ["cart", "redis"]], # [caller, callee]
     "entry": "frontend",                                # optional
     "causal_edges": [["redis", "cart"]]}                # optional [cause, effect]; must be acyclic

A fault in a callee shows in its callers (MicroRCA, WWW'20; RCAEval's call-graph methods), so
without ``causal_edges`` the causal direction is taken as callee → caller. Keys the lab does not
use are reported once as a note, not refused: exports carry owners, versions, colours.

The lab's system spec is recognised by its ``services`` being mappings (``{name, host, calls}``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from copilot_lab.graph import Graph
from sysai.errors import UserError

USED = ("services", "calls", "entry", "causal_edges")


def read_mapping(path: Path) -> dict:
    """The file's top-level mapping (JSON or YAML; a JSON file is also valid YAML, but JSON's own
    parser gives better line numbers)."""
    if not path.is_file():
        raise UserError(f"topology file not found: {path}")
    text = path.read_text()
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise UserError(f"{path}{f':{mark.line + 1}' if mark is not None else ''}: not valid YAML") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping with 'services' and/or 'calls', got {type(data).__name__}")
    return data


def is_system_spec(data: dict) -> bool:
    services = data.get("services")
    return isinstance(services, list) and bool(services) and all(isinstance(s, dict) for s in services)


def _pairs(data: dict, key: str, path: Path) -> list[tuple[str, str]]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise UserError(f"{path}: key '{key}' must be a list of [a, b] pairs")
    out = []
    for i, pair in enumerate(value):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(x, str) and x for x in pair)):
            raise UserError(f"{path}: {key}[{i}] must be a pair of two service names, got {pair!r}")
        out.append((pair[0], pair[1]))
    return out


def parse_call_graph(
    data: dict, path: Path
) -> tuple[list[str], list[tuple[str, str]], str | None, list[tuple[str, str]] | None, list[str]]:
    """(services, calls, entry, causal edges or None, notes), checked."""
    notes = []
    unused = sorted(k for k in data if k not in USED)
    if unused:
        notes.append(f"{path}: key(s) not used: {', '.join(unused)}")
    listed = data.get("services")
    if listed is not None and not (isinstance(listed, list) and all(isinstance(s, str) and s for s in listed)):
        raise UserError(f"{path}: key 'services' must be a list of service names")
    calls = _pairs(data, "calls", path)
    names = list(dict.fromkeys(listed or []))
    if listed is not None:
        for i, (a, b) in enumerate(calls):
            for s in (a, b):
                if s not in names:
                    raise UserError(f"{path}: calls[{i}] names {s!r}, which is not in 'services'")
    else:
        names = list(dict.fromkeys(s for pair in calls for s in pair))
    if not names:
        raise UserError(f"{path}: no services (give 'services' or 'calls')")
    entry = data.get("entry")
    if entry is not None and entry not in names:
        raise UserError(f"{path}: entry {entry!r} is not one of the services")
    causal = None
    if "causal_edges" in data:
        causal = _pairs(data, "causal_edges", path)
        for i, (a, b) in enumerate(causal):
            for s in (a, b):
                if s not in names:
                    raise UserError(f"{path}: causal_edges[{i}] names {s!r}, which is not a service of the graph")
        cycle = find_cycle(names, causal)
        if cycle:
            raise UserError(f"{path}: causal_edges has a cycle: {' → '.join(cycle)}")
    return names, calls, entry, causal, notes


def find_cycle(names: list[str], edges: list[tuple[str, str]]) -> list[str] | None:
    """One directed cycle as a list of names (first repeated at the end), or None."""
    out: dict[str, list[str]] = {n: [] for n in names}
    for a, b in edges:
        out[a].append(b)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in out[n]:
            if state.get(m) == 1:
                return stack[stack.index(m) :] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in names:
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def place(
    graph_names: list[str], calls, entry, causal, colocated_pairs, names: list[str], path: Path
) -> tuple[Graph, list[str]]:
    """The graph re-indexed to the services of the data (`names`, from the metrics and any logs
    or traces). A graph service with no data is an error (a typo, or the wrong file); a service
    with data that the graph lacks is kept, unconnected, with a note."""
    missing = [s for s in graph_names if s not in names]
    if missing:
        shown = ", ".join(repr(s) for s in missing[:5]) + (" …" if len(missing) > 5 else "")
        raise UserError(f"{path}: the graph names service(s) {shown} that are not in the metrics")
    notes = []
    absent = [s for s in names if s not in graph_names]
    if absent:
        notes.append(
            f"{path}: service(s) {', '.join(absent)} have metrics but are not in the call graph; "
            "diagnosed from their own telemetry only"
        )
    n = len(names)
    adjacency = np.zeros((n, n), dtype=bool)
    for a, b in calls:
        if a != b:
            adjacency[names.index(a), names.index(b)] = True
    colocated = np.zeros((n, n), dtype=bool)
    for a, b in colocated_pairs:
        colocated[names.index(a), names.index(b)] = True
    causal_m = None
    if causal is not None:
        causal_m = np.zeros((n, n), dtype=bool)
        for a, b in causal:
            if a != b:
                causal_m[names.index(a), names.index(b)] = True
    if entry is None:
        tops = [i for i in range(n) if not adjacency[:, i].any() and adjacency[i].any()]
        entry_i = tops[0] if len(tops) == 1 else None
    else:
        entry_i = names.index(entry)
    return Graph(list(names), adjacency, colocated, entry_i, causal_m), notes


def load_topology(path: Path, names: list[str]) -> tuple[Graph, list[str]]:
    """The graph of `path` (system spec or plain call graph) over the data's services `names`."""
    from copilot_lab.system import load_system

    path = Path(path)
    data = read_mapping(path)
    if is_system_spec(data):
        system = load_system(path)
        calls = [(system.names[i], system.names[j]) for i, j in zip(*np.nonzero(system.graph.adjacency))]
        coloc = [(system.names[i], system.names[j]) for i, j in zip(*np.nonzero(system.graph.colocated))]
        return place(system.names, calls, system.spec.entry, None, coloc, names, path)
    graph_names, calls, entry, causal, notes = parse_call_graph(data, path)
    graph, more = place(graph_names, calls, entry, causal, [], names, path)
    return graph, notes + more
