"""Telemetry files in the RCAEval layout, both ways: write a simulated case, read a user's files.

* ``metrics.csv``: a ``time`` column (seconds) and one column per ``<service>_<metric>``
  (split at the *last* underscore: ``cart-db_cpu``, ``frontend_latency-50``). Metric names the
  simulator uses: latency, error, throughput, cpu, mem, disk, net; any other name is kept and
  scored like the rest.
* ``logs.csv`` (optional): ``time``, ``service`` (or RCAEval's ``container_name``), ``message``.
* ``traces.csv`` (optional): ``traceID, spanID, parentSpanID, serviceName, startTime, duration``
  and optionally ``kind`` (client/server) and ``statusCode``. Times in seconds and durations in
  ms; microsecond files (startTime > 1e14) are converted. Without ``kind``, a span with exactly
  one child in another service is taken as the caller's client span.

Bad input raises :class:`sysai.errors.UserError` naming the file, the line and what is wrong.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import yaml

from copilot_lab.graph import Graph
from copilot_lab.system import System, to_mapping
from copilot_lab.telemetry import Logs, Telemetry, Traces
from sysai.errors import UserError

TRACE_COLUMNS = ("traceID", "spanID", "parentSpanID", "serviceName", "startTime", "duration")


def write_case(out: Path, telemetry: Telemetry, system: System, truth: dict) -> dict[str, Path]:
    """Write one case as RCAEval-layout files plus its topology and ground truth."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"{name}.csv" for name in ("metrics", "logs", "traces")}
    header = ["time"] + [f"{s}_{k}" for s in telemetry.names for k in telemetry.kinds]
    flat = telemetry.metrics.reshape(len(telemetry.time), -1)
    with paths["metrics"].open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for t, row in zip(telemetry.time, flat):
            w.writerow([f"{t:.0f}"] + [f"{v:.6g}" for v in row])
    with paths["logs"].open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["time", "service", "message"])
        for t, s, m in zip(telemetry.logs.time, telemetry.logs.service, telemetry.logs.message):
            w.writerow([f"{t:.3f}", telemetry.names[s], m])
    tr = telemetry.traces
    with paths["traces"].open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(list(TRACE_COLUMNS) + ["kind", "statusCode"])
        for k in np.argsort(tr.start, kind="stable"):
            w.writerow(
                [
                    f"t{tr.trace[k]}",
                    f"s{tr.span[k]}",
                    f"s{tr.parent[k]}" if tr.parent[k] >= 0 else "",
                    telemetry.names[tr.service[k]],
                    f"{tr.start[k]:.6f}",
                    f"{tr.duration_ms[k]:.3f}",
                    "client" if tr.client[k] else "server",
                    500 if tr.error[k] else 200,
                ]
            )
    paths["topology"] = out / "topology.yaml"
    paths["topology"].write_text(yaml.safe_dump(to_mapping(system), sort_keys=False))
    paths["case"] = out / "case.json"
    paths["case"].write_text(json.dumps(truth, indent=2) + "\n")
    return paths


def _rows(
    path: Path, required: tuple[str, ...], aliases: dict[str, str] | None = None
) -> tuple[list[str], list[list[str]]]:
    if not path.exists():
        raise UserError(f"file not found: {path}")
    if not path.is_file():
        raise UserError(f"{path}: not a file")
    try:
        with path.open(newline="") as fh:
            rows = list(csv.reader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path}: not a readable CSV file ({exc})") from None
    if not rows:
        raise UserError(f"{path}: empty file (expected a header line)")
    header = [h.strip() for h in rows[0]]
    for alias, name in (aliases or {}).items():
        if alias in header and name not in header:
            header[header.index(alias)] = name
    missing = [c for c in required if c not in header]
    if missing:
        shown = ", ".join(header[:6]) + (f", … ({len(header)} columns)" if len(header) > 6 else "")
        raise UserError(f"{path}:1: missing column(s) {', '.join(missing)} (header: {shown})")
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise UserError(f"{path}:1: duplicate column(s) {', '.join(twice)}")
    body = rows[1:]
    for i, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise UserError(f"{path}:{i}: {len(row)} fields, the header has {len(header)}")
    if not body:
        raise UserError(f"{path}: no data rows")
    return header, body


def _number(text: str, path: Path, line: int, column: str, required: bool = False) -> float:
    """The cell as a float; an empty cell (or NaN) is a missing value (NaN) unless `required`."""
    try:
        value = float(text) if text.strip() != "" else float("nan")
    except ValueError:
        raise UserError(f"{path}:{line}: column {column!r} is not a number: {text!r}") from None
    if np.isinf(value):
        raise UserError(f"{path}:{line}: column {column!r} is infinite: {text!r}")
    if required and np.isnan(value):
        raise UserError(f"{path}:{line}: column {column!r} is empty")
    return value


def read_metrics(path: Path) -> tuple[list[str], tuple[str, ...], np.ndarray, np.ndarray]:
    """(services, metric kinds, time (T,), cube (T, S, K) with NaN for absent series)."""
    header, body = _rows(path, ("time",))
    columns = [c for c in header if c != "time"]
    if not columns:
        raise UserError(f"{path}:1: no metric columns besides 'time'")
    pairs = []
    for c in columns:
        service, sep, metric = c.rpartition("_")
        if not sep or not service or not metric:
            raise UserError(f"{path}:1: column {c!r} is not of the form <service>_<metric>")
        pairs.append((service, metric))
    names = list(dict.fromkeys(s for s, _ in pairs))
    kinds = tuple(dict.fromkeys(m for _, m in pairs))
    ti = header.index("time")
    time = np.array([_number(row[ti], path, i, "time", required=True) for i, row in enumerate(body, start=2)])
    if len(time) < 2:
        raise UserError(f"{path}: only {len(time)} data row (need ≥ 2 time steps)")
    back = np.flatnonzero(np.diff(time) <= 0)
    if len(back):
        i = int(back[0]) + 1
        raise UserError(
            f"{path}:{i + 2}: time {body[i][ti]} does not come after the previous row's {body[i - 1][ti]} "
            "(rows must be in strictly increasing time)"
        )
    cube = np.full((len(time), len(names), len(kinds)), np.nan)
    for c, (service, metric) in zip(columns, pairs):
        ci = header.index(c)
        values = [_number(row[ci], path, i, c) for i, row in enumerate(body, start=2)]
        if np.isnan(values).all():
            raise UserError(f"{path}:1: column {c!r} has no numbers (every cell is empty or NaN)")
        cube[:, names.index(service), kinds.index(metric)] = values
    return names, kinds, time, cube


def read_logs(path: Path, names: list[str]) -> Logs:
    """Logs; services not yet in `names` are appended to it."""
    header, body = _rows(path, ("time", "service", "message"), {"container_name": "service"})
    ti, si, mi = header.index("time"), header.index("service"), header.index("message")
    times, services, messages = [], [], []
    for i, row in enumerate(body, start=2):
        times.append(_number(row[ti], path, i, "time", required=True))
        service = row[si].strip()
        if not service:
            raise UserError(f"{path}:{i}: empty service")
        if service not in names:
            names.append(service)
        services.append(names.index(service))
        messages.append(row[mi])
    order = np.argsort(times, kind="stable")
    return Logs(np.asarray(times)[order], np.asarray(services, dtype=int)[order], [messages[k] for k in order])


def read_traces(path: Path, names: list[str]) -> Traces:
    """Traces; services not yet in `names` are appended to it."""
    header, body = _rows(path, TRACE_COLUMNS)
    col = {c: header.index(c) for c in header}
    ids: dict[str, int] = {}

    def ident(text: str) -> int:
        return ids.setdefault(text, len(ids))

    trace, span, parent, service, start, duration, kind, error = [], [], [], [], [], [], [], []
    for i, row in enumerate(body, start=2):
        if not row[col["spanID"]].strip():
            raise UserError(f"{path}:{i}: empty spanID")
        trace.append(ident("trace:" + row[col["traceID"]]))
        span.append(ident(row[col["spanID"]]))
        parent_id = row[col["parentSpanID"]].strip()
        parent.append(ident(parent_id) if parent_id else -1)
        name = row[col["serviceName"]].strip()
        if name not in names:
            names.append(name)
        service.append(names.index(name))
        start.append(_number(row[col["startTime"]], path, i, "startTime", required=True))
        duration.append(_number(row[col["duration"]], path, i, "duration", required=True))
        kind.append(row[col["kind"]].strip().lower() if "kind" in col else "")
        error.append(
            row[col["statusCode"]].strip() not in ("", "0", "200", "OK", "ok", "UNSET")
            if "statusCode" in col
            else False
        )
    start_a, dur = np.array(start), np.array(duration)
    if np.nanmedian(start_a) > 1e14:  # microseconds since the epoch (Jaeger, RCAEval)
        start_a, dur = start_a / 1e6, dur / 1e3
    span_a, parent_a, service_a = np.array(span), np.array(parent), np.array(service)
    if any(kind):
        client = np.array(["client" in k for k in kind])
    else:
        client = _infer_client(span_a, parent_a, service_a)
    return Traces(np.array(trace), span_a, parent_a, service_a, start_a, dur, np.array(error), client)


def _infer_client(span: np.ndarray, parent: np.ndarray, service: np.ndarray) -> np.ndarray:
    """A span with exactly one child, in another service, is the caller's client span."""
    from copilot_lab.agents.trace import parent_rows

    rows = parent_rows(span, parent)
    has = rows >= 0
    children = np.bincount(rows[has], minlength=len(span))
    other = np.zeros(len(span), dtype=bool)
    other[rows[has & (service != service[np.where(has, rows, 0)])]] = True
    return (children == 1) & other


def graph_from_traces(traces: Traces, names: list[str]) -> Graph:
    """The call graph as seen in the traces: caller → callee for every cross-service parent link."""
    from copilot_lab.agents.trace import parent_rows

    rows = parent_rows(traces.span, traces.parent)
    has = rows >= 0
    caller, callee = traces.service[rows[has]], traces.service[has]
    return Graph.from_edges(names, {(int(a), int(b)) for a, b in zip(caller, callee) if a != b})


def load_files(
    metrics: Path, logs: Path | None, traces: Path | None, topology: Path | None
) -> tuple[Telemetry, Graph | None, list[str]]:
    """User telemetry (RCAEval layout), the best graph available, and notes about what was
    assumed (unused topology keys, services without a place in the graph)."""
    from copilot_lab.callgraph import load_topology

    names, kinds, time, cube = read_metrics(metrics)
    log_data = read_logs(logs, names) if logs is not None else None
    trace_data = read_traces(traces, names) if traces is not None else None
    graph, notes = None, []
    if topology is not None:
        graph, notes = load_topology(topology, names)
    elif trace_data is not None:
        graph = graph_from_traces(trace_data, names)
    if cube.shape[1] < len(names):  # services seen only in logs/traces have no metrics
        cube = np.concatenate([cube, np.full((len(time), len(names) - cube.shape[1], len(kinds)), np.nan)], axis=1)
    if graph is not None and graph.n < len(names):
        pad = len(names) - graph.n
        graph = Graph(
            list(names),
            np.pad(graph.adjacency, ((0, pad), (0, pad))),
            np.pad(graph.colocated, ((0, pad), (0, pad))),
            graph.entry,
            None if graph.causal is None else np.pad(graph.causal, ((0, pad), (0, pad))),
        )
    return Telemetry(list(names), kinds, time, cube, log_data, trace_data), graph, notes
