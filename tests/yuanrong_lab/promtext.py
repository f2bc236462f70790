"""A strict reader of the Prometheus text exposition format (0.0.4), for the tests.

It checks what a scraper relies on: every sample belongs to a family declared by ``# TYPE`` before
it, names and label sets are well formed, values parse, and each histogram's buckets are
cumulative, end at ``le="+Inf"`` and agree with its ``_count``.
"""

from __future__ import annotations

import re
from collections import defaultdict

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? (\S+)")
SUFFIXES = {
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count", ""),
    "counter": ("",),
    "gauge": ("",),
}


def parse(text: str) -> dict[str, dict]:
    """{family: {"type": ..., "samples": [(name, labels, value)]}}; AssertionError on bad input."""
    assert text.endswith("\n"), "the exposition must end with a newline"
    families: dict[str, dict] = {}
    for number, line in enumerate(text.splitlines(), 1):
        where = f"line {number}: {line!r}"
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert re.fullmatch(NAME, name) and kind in SUFFIXES, where
            assert name not in families, f"{where}: family declared twice"
            families[name] = {"type": kind, "samples": []}
            continue
        if line.startswith("#") or not line:
            continue
        match = SAMPLE.fullmatch(line)
        assert match, f"{where}: not a sample line"
        name, labels, value = match.groups()
        float(value)  # +Inf, NaN and numbers all parse
        family = next((f for f, info in families.items() for s in SUFFIXES[info["type"]] if name == f + s), None)
        assert family is not None, f"{where}: sample before (or without) its # TYPE"
        pairs = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels or ""))
        families[family]["samples"].append((name, pairs, float(value)))
    for family, info in families.items():
        if info["type"] == "histogram":
            _check_histogram(family, info["samples"])
    return families


def _check_histogram(family: str, samples: list) -> None:
    buckets: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
    counts = {}
    for name, labels, value in samples:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        if name.endswith("_bucket"):
            buckets[key].append((float(labels["le"]), value))
        elif name.endswith("_count"):
            counts[key] = value
    for key, series in buckets.items():
        values = [v for _, v in series]
        assert values == sorted(values), f"{family}{key}: buckets are not cumulative"
        assert series[-1][0] == float("inf"), f"{family}{key}: last bucket is not +Inf"
        assert counts.get(key) == series[-1][1], f"{family}{key}: _count differs from the +Inf bucket"
