"""Invocation workloads for the keep-alive simulation: a synthetic Azure-like generator, and an
importer for the public Azure Functions 2019 trace layout.

The generator follows the published characterisation of Azure Functions ("Serverless in the
Wild", ATC'20, section 3): per-function invocation rates span about eight orders of magnitude
and most functions are rare (in the paper 45 % of applications run at most once an hour, 81 % at
most once a minute); triggers mix timers (strictly periodic), HTTP/queue calls (roughly Poisson)
and bursts; execution times are mostly short (half the functions average under 1 s), memory is
around 150 MB. The knobs and their values are in :class:`GeneratorConfig`.

The Azure trace file layout is ``HashOwner,HashApp,HashFunction,Trigger,1,...,1440``: one row per
function and day, with the number of invocations in each minute. Within a minute the importer
spreads the calls uniformly at random (seeded); the trace has no durations or memory per
function in this file, so those are drawn like the generator's.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sysai.config import option
from sysai.errors import UserError
from sysai.seeding import rng

MINUTES_PER_DAY = 1440


@dataclass
class FunctionTrace:
    name: str
    kind: str  # timer, poisson, bursty (generator) or the trace's trigger
    arrivals: np.ndarray  # seconds since the start, sorted
    duration_s: float
    memory_gb: float


@dataclass
class Workload:
    functions: list[FunctionTrace]
    horizon_s: float
    source: str

    @property
    def invocations(self) -> int:
        return int(sum(len(f.arrivals) for f in self.functions))


@dataclass
class GeneratorConfig:
    share_timer: float = option(0.30, "fraction of timer (periodic) functions")
    share_bursty: float = option(0.25, "fraction of bursty functions (the rest are Poisson)")
    log10_rate_mean: float = option(-1.6, "mean of log10(invocations per minute) (~once per 40 min)")
    log10_rate_sd: float = option(1.2, "spread of log10(invocations per minute)")
    log10_rate_min: float = option(-3.2, "slowest function: ~once a day")
    log10_rate_max: float = option(1.0, "fastest function: 10 per minute")
    timer_periods_min: list = option([1, 5, 10, 15, 30, 60, 120, 240, 1440], "timer periods to pick from (minutes)")
    burst_size_mean: float = option(20.0, "calls per burst (geometric mean)")
    burst_gap_s: float = option(3.0, "mean gap between calls inside a burst (s)")
    duration_median_s: float = option(0.5, "median execution time (s)")
    memory_median_gb: float = option(0.15, "median memory per instance (GB)")


def generate(n_functions: int, hours: float, seed: int, config: GeneratorConfig | None = None) -> Workload:
    """A seeded synthetic workload of `n_functions` over `hours`."""
    if n_functions < 1 or hours <= 0:
        raise UserError(f"need at least one function and a positive duration (got {n_functions} functions, {hours} h)")
    cfg = config or GeneratorConfig()
    horizon = hours * 3600.0
    r = rng(seed, "yuanrong-workload")
    kinds = r.choice(
        ["timer", "bursty", "poisson"],
        size=n_functions,
        p=[cfg.share_timer, cfg.share_bursty, 1 - cfg.share_timer - cfg.share_bursty],
    )
    log_rates = np.clip(
        r.normal(cfg.log10_rate_mean, cfg.log10_rate_sd, n_functions), cfg.log10_rate_min, cfg.log10_rate_max
    )
    durations = np.clip(r.lognormal(np.log(cfg.duration_median_s), 1.2, n_functions), 0.01, 60.0)
    memory = np.clip(r.lognormal(np.log(cfg.memory_median_gb), 0.5, n_functions), 0.05, 2.0)
    functions = []
    for i in range(n_functions):
        per_s = 10 ** log_rates[i] / 60.0
        if kinds[i] == "timer":
            arrivals = _timer(r, per_s, horizon, cfg)
        elif kinds[i] == "bursty":
            arrivals = _bursty(r, per_s, horizon, cfg)
        else:
            arrivals = _poisson(r, per_s, horizon)
        functions.append(FunctionTrace(f"f{i:05d}", str(kinds[i]), arrivals, float(durations[i]), float(memory[i])))
    return Workload(functions, horizon, f"synthetic Azure-like ({n_functions} functions, {hours:g} h, seed {seed})")


def _poisson(r: np.random.Generator, per_s: float, horizon: float) -> np.ndarray:
    count = r.poisson(per_s * horizon)
    return np.sort(r.uniform(0, horizon, count))


def _timer(r: np.random.Generator, per_s: float, horizon: float, cfg: GeneratorConfig) -> np.ndarray:
    periods = np.array(cfg.timer_periods_min, dtype=float) * 60.0
    period = periods[np.argmin(np.abs(np.log(periods) - np.log(1.0 / per_s)))]  # the period nearest the rate
    start = r.uniform(0, period)
    ticks = np.arange(start, horizon, period)
    return np.sort(np.clip(ticks + r.uniform(0, 1.0, len(ticks)), 0, horizon))  # ~1 s scheduling jitter


def _bursty(r: np.random.Generator, per_s: float, horizon: float, cfg: GeneratorConfig) -> np.ndarray:
    bursts = r.poisson(per_s * horizon / cfg.burst_size_mean)
    starts = r.uniform(0, horizon, bursts)
    sizes = r.geometric(1.0 / cfg.burst_size_mean, bursts)
    calls = [s + np.cumsum(r.exponential(cfg.burst_gap_s, n)) for s, n in zip(starts, sizes)]
    arrivals = np.concatenate(calls) if calls else np.empty(0)
    return np.sort(arrivals[arrivals < horizon])


def load_azure_csv(
    path: str | Path,
    seed: int,
    hours: float | None = None,
    limit: int | None = None,
    config: GeneratorConfig | None = None,
) -> Workload:
    """Read an Azure Functions 2019 invocation file (``invocations_per_function_md.anon.d01.csv``)."""
    path = Path(path)
    cfg = config or GeneratorConfig()
    if not path.is_file():
        raise UserError(f"trace file not found: {path}")
    minutes = MINUTES_PER_DAY if hours is None else int(min(MINUTES_PER_DAY, max(1, round(hours * 60))))
    r = rng(seed, "yuanrong-azure", path.name)
    functions = []
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        expected = ["HashOwner", "HashApp", "HashFunction", "Trigger"] + [str(m) for m in range(1, MINUTES_PER_DAY + 1)]
        if header is None or [h.strip() for h in header] != expected:
            raise UserError(
                f"{path}:1: header is not the Azure Functions 2019 layout "
                "(HashOwner,HashApp,HashFunction,Trigger,1..1440)"
            )
        for line, row in enumerate(reader, start=2):
            if limit is not None and len(functions) >= limit:
                break
            if len(row) != len(expected):
                raise UserError(f"{path}:{line}: expected {len(expected)} columns, found {len(row)}")
            try:
                counts = np.array([int(c) for c in row[4 : 4 + minutes]], dtype=np.int64)
            except ValueError:
                raise UserError(f"{path}:{line}: per-minute counts must be whole numbers") from None
            if (counts < 0).any():
                raise UserError(f"{path}:{line}: negative invocation count")
            starts = np.repeat(np.arange(minutes) * 60.0, counts)
            arrivals = np.sort(starts + r.uniform(0, 60.0, len(starts)))
            duration = float(np.clip(r.lognormal(np.log(cfg.duration_median_s), 1.2), 0.01, 60.0))
            memory = float(np.clip(r.lognormal(np.log(cfg.memory_median_gb), 0.5), 0.05, 2.0))
            functions.append(FunctionTrace(row[2], row[3], arrivals, duration, memory))
    if not functions:
        raise UserError(f"{path}: no function rows")
    return Workload(functions, minutes * 60.0, f"Azure Functions 2019 trace {path.name} ({len(functions)} functions)")
