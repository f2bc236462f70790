"""The Ray sweep (one small run) and the tour section."""

import json

import pytest

from sysai.tour import TourContext

from llm_la_lab.experiments import Setup
from llm_la_lab.lab import tour
from llm_la_lab.sweep import parse_values, point_setup, run_sweep


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.timeout(150)
def test_sweep_runs_points_on_ray_and_draws_curves(tmp_path):
    setup = Setup(requests=300, instances=2)
    results = run_sweep(setup, ["round_robin", "least_requests"], "load", [0.5, 1.1], tmp_path, cpus=2)
    assert len(results.points) == 4 and {p["policy"] for p in results.points} == {"round_robin", "least_requests"}
    low, high = (next(p for p in results.points if p["policy"] == "round_robin" and p["x"] == x) for x in (0.5, 1.1))
    assert high["e2e_p99_s"] > low["e2e_p99_s"] and high["load"] == pytest.approx(1.1)
    assert all((tmp_path / f).stat().st_size > 0 for f in ("points.csv", "p99_e2e.png", "mean_e2e.png"))


def test_sweep_values_and_setups():
    assert parse_values("load", "0.3, 0.9", False) == [0.3, 0.9]
    assert point_setup(Setup(), "sigma", 1.0).predictor == "noisy"
    assert point_setup(Setup(), "refresh", 0.5).refresh_s == 0.5
    with pytest.raises(Exception, match="--vary"):
        parse_values("speed", None, False)


@pytest.mark.slow
def test_tour_shows_the_headline_with_measured_numbers(tmp_path):
    section = tour(TourContext(out=tmp_path, seed=42, quick=True))
    policies = [row[0] for row in section.rows]
    assert policies[0] == "round_robin" and "llm_la" in policies
    la = section.results["policies"]["llm_la"]
    rr = section.results["policies"]["round_robin"]
    assert la["e2e_mean_s"] < rr["e2e_mean_s"] and la["ttft_p99_s"] < rr["ttft_p99_s"]
    assert all(f.exists() for f in section.figures) and len(section.figures) == 3


def test_commands_without_policies_run_the_registry_defaults(tmp_path, capsys):
    """`compare` and `sweep` default to POLICIES.defaults(), the baseline first."""
    from sysai.cli import main

    from llm_la_lab.experiments import check_policies
    from llm_la_lab.policies.base import POLICIES

    defaults = check_policies(None)
    assert defaults[0] == "round_robin" and sorted(defaults) == POLICIES.defaults()
    assert main(["llm-la", "compare", "--requests", "200", "--instances", "2", "--out", str(tmp_path), "--json"]) == 0
    assert list(json.loads(capsys.readouterr().out)["policies"]) == defaults
