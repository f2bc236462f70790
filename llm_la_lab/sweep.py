"""`sweep`: policies × one varied parameter, each point an independent simulation on Ray.

Points are embarrassingly parallel, so they run as Ray tasks (a private local cluster on
127.0.0.1 by default, ``--address`` for an existing one — which must have this package
installed); a progress bar advances as results come back.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sysai.errors import UserError
from sysai.progress import bar
from sysai.raycluster import ray_cluster
from sysai.results import write_csv
from sysai.timing import Timer

from llm_la_lab.experiments import Setup, check_policies, sweep_point

VARY = {
    "load": ("load", "offered load ρ", [0.3, 0.5, 0.7, 0.85, 0.95, 1.05]),
    "refresh": ("refresh_s", "load-signal refresh interval (s)", [0.0, 0.1, 0.5, 1.0, 2.0]),
    "sigma": ("sigma", "predictor error σ (log-normal)", [0.0, 0.25, 0.5, 1.0, 2.0]),
}


@dataclass
class SweepResults:
    vary: str
    values: list[float]
    policies: list[str]
    wall_s: float
    points: list[dict[str, Any]]
    files: list[Path] = field(default_factory=list)


def parse_values(vary: str, spec: str | None, quick: bool) -> list[float]:
    if vary not in VARY:
        raise UserError(f"--vary must be one of {', '.join(VARY)}, got {vary!r}")
    if spec is None:
        values = VARY[vary][2]
        return values[::2] if quick else values
    try:
        values = [float(v) for v in spec.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"--values must be comma-separated numbers, got {spec!r}") from None
    if not values:
        raise UserError("--values is empty")
    return values


def point_setup(setup: Setup, vary: str, value: float) -> Setup:
    changes: dict[str, Any] = {VARY[vary][0]: value}
    if vary == "sigma":
        changes["predictor"] = "noisy"
    return dataclasses.replace(setup, **changes)


def _run_point(setup: Setup, policy: str, plugins: list[str]) -> dict[str, Any]:
    from llm_la_lab.policies.base import POLICIES

    for path in plugins:
        POLICIES.load_file(path)
    return sweep_point(setup, policy)


def run_sweep(setup: Setup, policies: list[str], vary: str, values: list[float], out: Path | None,
              address: str | None = None, cpus: int | None = None, plugins: list[str] | None = None) -> SweepResults:
    check_policies(policies)
    jobs = [(policy, value) for value in values for policy in policies]
    points: list[dict[str, Any]] = []
    with Timer() as timer, ray_cluster(address=address, num_cpus=cpus) as ray:
        remote = ray.remote(num_cpus=1)(_run_point)
        pending = {remote.remote(point_setup(setup, vary, value), policy, plugins or []): value
                   for policy, value in jobs}
        with bar(f"sweep over {vary}", total=len(pending)) as progress:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                value = pending.pop(done[0])
                point = ray.get(done[0])
                point["x"] = value
                points.append(point)
                progress.advance()
    points.sort(key=lambda p: (policies.index(p["policy"]), p["x"]))
    results = SweepResults(vary, values, policies, timer.elapsed, points)
    if out is not None:
        from llm_la_lab.plots import sweep_figure

        label = VARY[vary][1]
        results.files = [
            write_csv(out / "points.csv",
                      [{k: v for k, v in p.items() if k != "requests_per_replica"} for p in points]),
            sweep_figure(out / "p99_e2e.png", points, "x", label, "e2e_p99_s", "E2E p99 (s)"),
            sweep_figure(out / "mean_e2e.png", points, "x", label, "e2e_mean_s", "E2E mean (s)"),
            sweep_figure(out / "p99_ttft.png", points, "x", label, "ttft_p99_s", "TTFT p99 (s)"),
        ]
    return results
