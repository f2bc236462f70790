"""Workloads: synthetic arrivals with length distributions, and replay of real request traces.

A :class:`Workload` is three arrays — arrival time (s), prompt tokens, output tokens. It comes from

* a **trace** file (CSV or JSONL, optionally gzipped) with a column mapping such as
  ``arrival=TIMESTAMP,input=ContextTokens,output=GeneratedTokens``; arrival values may be numbers
  in ``--time-unit`` (s or ms) or wall-clock timestamps. ``conv`` and ``code`` name the bundled
  Azure LLM inference traces 2023 (Patel et al., ISCA'24; CC-BY 4.0, see ``data/ATTRIBUTION.md``);
* a **Mooncake** JSONL trace (Qin et al., FAST'25): ``timestamp`` (ms), ``input_length``,
  ``output_length`` and ``hash_ids``, the ids of the prompt's 512-token blocks — equal ids mean
  equal prefixes, which is what prefix caching feeds on. ``mooncake`` names the bundled synthetic
  trace (Apache-2.0); any file whose rows carry ``hash_ids`` keeps them;
* or a **synthetic** generator: Poisson arrivals, or bursty gamma arrivals with a coefficient of
  variation > 1, and lengths drawn from a trace's (prompt, output) pairs or from log-normals.

Either can be replayed at its own pace or rescaled (:meth:`Workload.at_rate`) to a target rate.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import numpy as np

from sysai.errors import UserError
from sysai.seeding import rng

from llm_la_lab.request import Request, chain

BUNDLED = {"conv": "azure_llm_2023_conv.csv.gz", "code": "azure_llm_2023_code.csv.gz",
           "mooncake": "mooncake_synthetic_trace.jsonl.gz"}
DEFAULT_COLUMNS = {"arrival": "TIMESTAMP", "input": "ContextTokens", "output": "GeneratedTokens"}
MOONCAKE_COLUMNS = {"arrival": "timestamp", "input": "input_length", "output": "output_length"}
MOONCAKE_BLOCK_TOKENS = 512  # tokens per hash_ids block in Mooncake traces
TIME_UNITS = {"s": 1.0, "ms": 1e-3}
_FRACTION = re.compile(r"(\.\d{1,6})\d*")


@dataclass
class Workload:
    name: str
    arrival: np.ndarray  # seconds from the first request, non-decreasing
    prompt: np.ndarray
    output: np.ndarray
    keys: list[tuple[int, ...]] | None = None  # per request: prefix-cache keys of its prompt blocks
    key_tokens: int = 0  # tokens per prefix block

    def __len__(self) -> int:
        return len(self.arrival)

    @property
    def rate(self) -> float:
        """Mean arrival rate in requests per second."""
        span = float(self.arrival[-1] - self.arrival[0]) if len(self) > 1 else 0.0
        return (len(self) - 1) / span if span > 0 else float("inf")

    def head(self, n: int | None) -> "Workload":
        if n is None or n >= len(self):
            return self
        if n < 1:
            raise UserError(f"--requests must be at least 1, got {n}")
        return Workload(self.name, self.arrival[:n], self.prompt[:n], self.output[:n],
                        None if self.keys is None else self.keys[:n], self.key_tokens)

    def at_rate(self, rate: float) -> "Workload":
        """The same requests with inter-arrival gaps stretched so the mean rate is `rate` req/s."""
        if not 0 < rate < float("inf"):
            raise UserError(f"the request rate must be positive and finite, got {rate}")
        if len(self) == 1:
            return self
        if self.arrival[-1] == self.arrival[0]:
            raise UserError(f"{self.name}: every request arrives at the same time, so it has no rate to rescale "
                            "(use --rate with a synthetic workload, or --load 0 to replay it as is)")
        scale = self.rate / rate
        return Workload(self.name, (self.arrival - self.arrival[0]) * scale, self.prompt, self.output, self.keys,
                        self.key_tokens)

    def requests(self) -> list[Request]:
        keys = self.keys or [()] * len(self)
        return [Request(i, float(a), int(p), int(o), keys=k, key_tokens=self.key_tokens)
                for i, (a, p, o, k) in enumerate(zip(self.arrival.tolist(), self.prompt.tolist(),
                                                     self.output.tolist(), keys))]


def bundled_path(name: str) -> Path:
    return Path(str(resources.files("llm_la_lab") / "data" / BUNDLED[name]))


def parse_columns(spec: str | None, defaults: dict[str, str] = DEFAULT_COLUMNS) -> dict[str, str]:
    """``arrival=TIMESTAMP,input=ContextTokens,output=GeneratedTokens`` → mapping (defaults: Azure names)."""
    mapping = dict(defaults)
    if not spec:
        return mapping
    for part in spec.split(","):
        key, sep, column = part.partition("=")
        key, column = key.strip(), column.strip()
        if not sep or key not in DEFAULT_COLUMNS or not column:
            raise UserError(f"--columns: {part.strip()!r} is not one of arrival=COL, input=COL, output=COL")
        mapping[key] = column
    return mapping


def load_trace(source: str | Path, columns: str | None = None, time_unit: str | None = None) -> Workload:
    """Read a trace: `source` is ``conv``, ``code``, ``mooncake`` or a CSV/JSONL file (``.gz`` allowed).

    A JSONL file whose first row has ``input_length`` is read as a Mooncake trace (its column names,
    milliseconds) unless `columns` or `time_unit` say otherwise; ``hash_ids`` become prefix-cache keys.
    """
    if time_unit is not None and time_unit not in TIME_UNITS:
        raise UserError(f"--time-unit must be one of {', '.join(TIME_UNITS)}, got {time_unit!r}")
    path = bundled_path(str(source)) if str(source) in BUNDLED else Path(source)
    if not path.is_file():
        raise UserError(f"trace file not found: {path} (or use the bundled {', '.join(map(repr, BUNDLED))})")
    opener = gzip.open if path.suffix == ".gz" else open
    is_jsonl = ".jsonl" in path.suffixes or ".json" in path.suffixes
    mapping = parse_columns(columns)
    unit = TIME_UNITS[time_unit or "s"]
    arrivals: list[float] = []
    prompts: list[int] = []
    outputs: list[int] = []
    hashes: list[tuple[int, ...]] = []
    try:
        with opener(path, "rt", newline="", encoding="utf-8-sig") as fh:
            rows = _jsonl_rows(fh, path) if is_jsonl else _csv_rows(fh, path, mapping)
            for line, row in rows:
                if is_jsonl and not arrivals and not columns and MOONCAKE_COLUMNS["input"] in row:
                    mapping = dict(MOONCAKE_COLUMNS)  # a Mooncake trace: its names, milliseconds
                    unit = TIME_UNITS[time_unit or "ms"]
                arrivals.append(_time(row, mapping["arrival"], path, line, unit))
                prompts.append(_count(row, mapping["input"], path, line))
                outputs.append(_count(row, mapping["output"], path, line))
                if is_jsonl:
                    hashes.append(_hash_ids(row, path, line))
    except (UnicodeDecodeError, csv.Error, OSError, EOFError) as exc:
        # Text is decoded in chunks, so the failing line is not known: say how far reading got.
        raise UserError(f"{path}: cannot read the trace after {len(arrivals)} good rows "
                        f"({type(exc).__name__}: {exc})") from None
    if not arrivals:
        raise UserError(f"{path}: the trace has no requests")
    arrival = np.asarray(arrivals)
    order = np.argsort(arrival, kind="stable")
    arrival = arrival[order] - arrival[order[0]]
    name = str(source) if str(source) in BUNDLED else path.name
    keys = None
    if hashes and any(hashes):
        if not all(hashes):
            raise UserError(f"{path}: some rows have hash_ids and some do not (first without: request "
                            f"{next(i for i, h in enumerate(hashes, 1) if not h)} of the file)")
        keys = [chain(hashes[i]) for i in order.tolist()]
    return Workload(name, arrival, np.asarray(prompts)[order], np.asarray(outputs)[order], keys,
                    MOONCAKE_BLOCK_TOKENS if keys else 0)


def synthetic(
    n: int,
    rate: float,
    seed: int,
    arrival: str = "poisson",
    cv: float = 2.0,
    lengths: str = "conv",
) -> Workload:
    """`n` requests at mean `rate` req/s.

    `arrival`: ``poisson`` (exponential gaps) or ``gamma`` (bursty: gamma gaps with coefficient of
    variation `cv`). `lengths`: ``conv``/``code`` resample (prompt, output) pairs of that bundled
    trace; ``lognormal:P,O`` draws log-normal lengths with medians P and O and σ = 1;
    ``prefix:G,S,Q,O`` is a shared-prefix workload like llm-d's benchmark: G system prompts of S
    tokens, each request one of them (uniformly) followed by its own Q-token question, O output
    tokens — prefix caching can skip S of every S + Q prompt tokens, if the request meets its
    group's blocks on its replica; ``sessions:N,P,Q,O`` is multi-turn chat: N sessions, each
    arrival the next turn of a random one; a session's first prompt has P tokens and every later
    turn's prompt is the previous prompt, its O-token answer and a new Q-token question — each turn
    extends its own prefix. (The replicas cache prompt blocks only, so the previous answer's
    blocks are recomputed: vLLM v1 would also have cached them.)
    """
    if n < 1 or not rate > 0:
        raise UserError(f"a synthetic workload needs n ≥ 1 and rate > 0 (got n={n}, rate={rate})")
    gaps_rng = rng(seed, "arrivals")
    if arrival == "poisson":
        gaps = gaps_rng.exponential(1.0 / rate, n)
    elif arrival == "gamma":
        if not cv > 0:
            raise UserError(f"--cv must be positive, got {cv}")
        shape = 1.0 / cv**2
        gaps = gaps_rng.gamma(shape, 1.0 / (rate * shape), n)
    else:
        raise UserError(f"--arrival must be poisson or gamma, got {arrival!r}")
    times = np.cumsum(gaps) - gaps[0]
    len_rng = rng(seed, "lengths")
    if lengths in BUNDLED:
        trace = load_trace(lengths)
        pick = len_rng.integers(0, len(trace), n)
        prompt, output = trace.prompt[pick], trace.output[pick]
    elif lengths.startswith("prefix:"):
        return _shared_prefix(lengths, times, len_rng, f"{arrival}/{lengths}")
    elif lengths.startswith("sessions:"):
        return _sessions(lengths, times, len_rng, f"{arrival}/{lengths}")
    elif lengths.startswith("lognormal:"):
        try:
            p_med, o_med = (float(x) for x in lengths.split(":", 1)[1].split(","))
        except ValueError:
            raise UserError(f"--lengths lognormal:P,O needs two medians, got {lengths!r}") from None
        if not (0 < p_med < math.inf and 0 < o_med < math.inf):
            raise UserError(f"--lengths lognormal:P,O needs positive medians, got {lengths!r}")
        prompt = np.maximum(1, np.round(len_rng.lognormal(np.log(p_med), 1.0, n))).astype(int)
        output = np.maximum(1, np.round(len_rng.lognormal(np.log(o_med), 1.0, n))).astype(int)
    else:
        raise UserError(f"--lengths must be conv, code or lognormal:P,O, got {lengths!r}")
    return Workload(f"{arrival}/{lengths}", times, prompt, output)


PREFIX_BLOCK_TOKENS = 64  # tokens per hashed block of the synthetic shared-prefix workload


def _four_positive(spec: str, form: str) -> tuple[int, int, int, int]:
    """The four numbers after the colon of `--lengths KIND:A,B,C,D`, each a whole number ≥ 1."""
    try:
        values = tuple(int(x) for x in spec.split(":", 1)[1].split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise UserError(f"--lengths {form} needs four whole numbers, got {spec!r}")
    if min(values) < 1:
        raise UserError(f"--lengths {form} needs positive numbers, got {spec!r}")
    return values


def _shared_prefix(spec: str, times: np.ndarray, len_rng, name: str) -> Workload:
    groups, system, question, output = _four_positive(spec, "prefix:G,S,Q,O")
    n = len(times)
    group = len_rng.integers(0, groups, n)
    unit = PREFIX_BLOCK_TOKENS
    prompt = system + question
    keys = []
    for i, g in enumerate(group.tolist()):
        ids = [("system", g, b) if (b + 1) * unit <= system else ("own", i, b) for b in range(prompt // unit)]
        keys.append(chain(ids))
    return Workload(name, times, np.full(n, prompt), np.full(n, output), keys, unit)


def _sessions(spec: str, times: np.ndarray, len_rng, name: str) -> Workload:
    sessions, first, question, output = _four_positive(spec, "sessions:N,P,Q,O")
    unit = PREFIX_BLOCK_TOKENS
    turns = [0] * sessions
    prompts, keys = [], []
    for s in len_rng.integers(0, sessions, len(times)).tolist():
        prompt = first + turns[s] * (output + question)
        turns[s] += 1
        prompts.append(prompt)
        keys.append(chain(("session", s, b) for b in range(prompt // unit)))  # a turn's text extends the last
    return Workload(name, times, np.asarray(prompts), np.full(len(times), output), keys, unit)


def _csv_rows(fh: io.TextIOBase, path: Path, mapping: dict[str, str]):
    reader = csv.DictReader(fh)
    missing = [c for c in mapping.values() if c not in (reader.fieldnames or [])]
    if missing:
        raise UserError(f"{path}:1: no column(s) {', '.join(missing)} in the header "
                        f"({', '.join(reader.fieldnames or [])}); map them with --columns")
    for row in reader:
        if None in row:  # DictReader's place for fields beyond the header
            raise UserError(f"{path}:{reader.line_num}: {len(reader.fieldnames)} columns in the header, "
                            f"{len(reader.fieldnames) + len(row[None])} in this row")
        yield reader.line_num, row


def _jsonl_rows(fh: io.TextIOBase, path: Path):
    for line, text in enumerate(fh, 1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{line}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise UserError(f"{path}:{line}: expected a JSON object per line")
        yield line, row


def _hash_ids(row: dict, path: Path, line: int) -> tuple[int, ...]:
    value = row.get("hash_ids")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(h, int) and not isinstance(h, bool) for h in value):
        raise UserError(f"{path}:{line}: hash_ids must be a list of integers (block ids), got {str(value)[:60]}")
    return tuple(value)


def _field(row: dict, column: str, path: Path, line: int):
    value = row.get(column)
    if value is None or value == "":
        raise UserError(f"{path}:{line}: column {column} is missing")
    return value


def _count(row: dict, column: str, path: Path, line: int) -> int:
    value = _field(row, column, path, line)
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{path}:{line}: column {column}: {value!r} is not a token count") from None
    if not math.isfinite(number) or number != int(number) or number < 1:
        raise UserError(f"{path}:{line}: column {column}: {value!r} is not a positive whole number of tokens")
    return int(number)


def _time(row: dict, column: str, path: Path, line: int, unit: float) -> float:
    value = _field(row, column, path, line)
    if isinstance(value, bool):
        raise UserError(f"{path}:{line}: column {column}: {value!r} is neither a number nor a timestamp")
    try:
        number = float(value) * unit
    except (TypeError, ValueError):
        pass
    else:
        if not math.isfinite(number):
            raise UserError(f"{path}:{line}: column {column}: {value!r} is not a finite time")
        return number
    text = _FRACTION.sub(lambda m: m.group(1).ljust(7, "0"), str(value).strip())
    if text.endswith(("Z", "z")):  # Python 3.10's fromisoformat does not read the Z suffix
        text = text[:-1] + "+00:00"
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"{path}:{line}: column {column}: {value!r} is neither a number nor a timestamp") from None
    # Only gaps matter: read naive timestamps as UTC so the machine's time zone (and DST) cannot change them.
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)).timestamp()
