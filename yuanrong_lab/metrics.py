"""Per-function counters and latency histograms, rendered in the Prometheus text format.

Thread-safe (the runtime updates them from Ray's completion callbacks and the gateway's loop).
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict

# seconds: sub-millisecond warm calls up to multi-second cold starts and timeouts
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Histogram:
    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS):
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value

    @property
    def count(self) -> int:
        return sum(self.counts)


class Metrics:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counters: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.latency: dict[str, Histogram] = defaultdict(Histogram)
        self.cold_parts: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0])  # (fn, part) → [sum s, n]

    def inc(self, name: str, function: str, by: float = 1.0) -> None:
        with self.lock:
            self.counters[name][function] += by

    def observe(self, function: str, seconds: float) -> None:
        with self.lock:
            self.latency[function].observe(seconds)

    def cold_start(self, function: str, parts_ms: dict[str, float]) -> None:
        """Record the measured parts of one cold start (actor_start, import, init, total)."""
        with self.lock:
            for part, ms in parts_ms.items():
                entry = self.cold_parts[(function, part.removesuffix("_ms"))]
                entry[0] += ms / 1e3
                entry[1] += 1

    def render(self, gauges: dict[str, dict[str, float]]) -> str:
        """Prometheus exposition text; `gauges` maps metric name → {function: value} (read now)."""
        lines: list[str] = []

        def family(name: str, kind: str) -> None:
            lines.extend(
                (f"# HELP yuanrong_{name} {HELP.get(name, name.replace('_', ' '))}", f"# TYPE yuanrong_{name} {kind}")
            )

        with self.lock:
            for name, values in sorted(self.counters.items()):
                family(name, "counter")
                lines += [f'yuanrong_{name}{{function="{_label(fn)}"}} {v:g}' for fn, v in sorted(values.items())]
            family("invoke_latency_seconds", "histogram")
            for fn, hist in sorted(self.latency.items()):
                fn = _label(fn)
                cumulative = 0
                for bound, count in zip((*hist.buckets, float("inf")), hist.counts):
                    cumulative += count
                    le = "+Inf" if bound == float("inf") else f"{bound:g}"
                    lines.append(f'yuanrong_invoke_latency_seconds_bucket{{function="{fn}",le="{le}"}} {cumulative}')
                lines.append(f'yuanrong_invoke_latency_seconds_sum{{function="{fn}"}} {hist.total:g}')
                lines.append(f'yuanrong_invoke_latency_seconds_count{{function="{fn}"}} {hist.count}')
            family("cold_start_part_seconds", "summary")
            for (fn, part), (total, n) in sorted(self.cold_parts.items()):
                lines.append(f'yuanrong_cold_start_part_seconds_sum{{function="{_label(fn)}",part="{part}"}} {total:g}')
                lines.append(f'yuanrong_cold_start_part_seconds_count{{function="{_label(fn)}",part="{part}"}} {n}')
        for name, values in sorted(gauges.items()):
            family(name, "gauge")
            lines += [f'yuanrong_{name}{{function="{_label(fn)}"}} {v:g}' for fn, v in sorted(values.items())]
        return "\n".join(lines) + "\n"


HELP = {
    "invocations_total": "Calls submitted, per function.",
    "cold_starts_total": "Calls that had to start a new instance first.",
    "errors_total": "Calls that failed (function error, timeout, lost instance).",
    "invoke_latency_seconds": "Call latency from submission to result, cold starts included.",
    "cold_start_part_seconds": "Parts of cold starts: actor_start, import, init, total.",
    "instances": "Loaded instances now.",
    "in_flight": "Calls holding a slot on an instance now (running, or queued in a busy instance's actor).",
    "queued": "Gateway calls waiting for a free instance now.",
    "queue_timeouts_total": "Calls that waited past queue_timeout_s for an instance and never ran.",
    "idle_memory_gb_seconds": "Idle instance memory-time so far (GB x s), the cost of keeping warm.",
}


def _label(value: str) -> str:
    """A label value escaped as the text format requires (backslash, double quote, newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
