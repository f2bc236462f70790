"""The SimPy cluster: completeness, determinism, staleness, and the compare command."""

import json

import numpy as np
import pytest

from sysai.cli import main

from llm_la_lab.experiments import Setup, build_workload, run_policy
from llm_la_lab.policies.base import POLICIES
from llm_la_lab.replica import ReplicaConfig


def small(**changes):
    return Setup(requests=800, instances=4, load=0.9, **changes)


@pytest.mark.parametrize("policy", POLICIES.names())
def test_every_request_finishes_once_with_its_tokens(policy):
    setup = small(replica=ReplicaConfig(kv_blocks=1500))  # small cache: preemptions happen
    workload, _, _ = build_workload(setup)
    summary, run = run_policy(setup, workload, policy)
    assert len(run.requests) == 800 and all(r.finished is not None and r.gen == r.output for r in run.requests)
    assert sum(run.per_replica_requests) == 800
    assert summary["throughput_tok_s"] == pytest.approx(workload.output.sum() / run.duration_s, rel=0.01)
    assert 0 <= summary["slo_attainment"] <= 1 and summary["e2e_p99_s"] >= summary["e2e_p50_s"]
    floor = setup.cluster().latencies[0].floor_s  # no iteration is faster than reading the weights once
    for r in run.requests:
        assert r.arrival <= r.dispatched <= r.started < r.first_token <= r.finished
        assert r.first_token - r.started >= floor * (1 + r.preemptions) - 1e-9, "a prefill takes an iteration"
        assert r.finished - r.first_token >= (r.output - 1) * floor - 1e-9, "one token per decode step at most"
    assert summary["tpot_p50_s"] >= floor


def test_same_seed_same_numbers():
    setup = small(predictor="noisy", trace=None)
    workload, _, _ = build_workload(setup)
    a, _ = run_policy(setup, workload, "power_of_two")
    b, _ = run_policy(setup, workload, "power_of_two")
    assert a == b


def test_stale_signals_make_greedy_routing_herd():
    fresh_setup = Setup(requests=1500, load=0.95)
    stale_setup = Setup(requests=1500, load=0.95, refresh_s=2.0)
    workload, _, _ = build_workload(fresh_setup)
    fresh, _ = run_policy(fresh_setup, workload, "least_outstanding_tokens")
    stale, _ = run_policy(stale_setup, workload, "least_outstanding_tokens")
    assert stale["imbalance_cv"] > 1.5 * fresh["imbalance_cv"]
    assert stale["ttft_p99_s"] > 2 * fresh["ttft_p99_s"]
    robust, _ = run_policy(stale_setup, workload, "llm_la")
    assert robust["ttft_p99_s"] < stale["ttft_p99_s"]


def test_compare_cli_writes_results_and_figures(tmp_path, capsys):
    code = main(["llm-la", "compare", "--requests", "300", "--instances", "2", "--policies",
                 "round_robin,llm_la", "--out", str(tmp_path), "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["requests"] == 300 and data["sim_wall_s"] > 0
    keys = {"e2e_mean_s", "e2e_p50_s", "e2e_p99_s", "ttft_mean_s", "ttft_p99_s", "tpot_mean_s", "throughput_tok_s",
            "slo_attainment", "preemptions"}
    assert keys <= set(data["policies"]["llm_la"])
    assert json.loads((tmp_path / "results.json").read_text())["policies"].keys() == {"round_robin", "llm_la"}
    for name in ("latency_cdf.png", "outstanding_round_robin.png", "outstanding_llm_la.png", "requests.csv"):
        assert (tmp_path / name).stat().st_size > 0


@pytest.mark.parametrize("args,message", [
    (["--policies", "nope"], "unknown routing policy"),
    (["--trace", "/nonexistent.csv"], "trace file not found"),
    (["--load", "-1"], "--load must be a positive"),
    (["--load", "0.5", "--rate", "3"], "not both"),
    (["--refresh", "nan"], "--refresh must be"),
    (["--slo-ttft", "0"], "SLOs must be positive"),
    (["--set", "llm_la.kv_limit=0"], "kv_limit must be in"),
])
def test_compare_cli_bad_input_is_one_line_exit_2(tmp_path, capsys, args, message):
    assert main(["llm-la", "compare", "--requests", "50", "--out", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_rate_instead_of_the_default_load(tmp_path, capsys):
    assert main(["llm-la", "compare", "--rate", "5", "--requests", "200", "--instances", "2",
                 "--policies", "round_robin", "--out", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rate_rps"] == pytest.approx(5.0)


def test_synthetic_bursty_workload_via_cli(tmp_path, capsys):
    code = main(["llm-la", "compare", "--trace", "none", "--arrival", "gamma", "--cv", "3", "--requests", "300",
                 "--instances", "2", "--policies", "least_requests", "--out", str(tmp_path), "--json"])
    assert code == 0
    assert np.isfinite(json.loads(capsys.readouterr().out)["policies"]["least_requests"]["e2e_p99_s"])


def test_student_policy_from_a_file_and_a_bad_choice(tmp_path, capsys):
    plugin = tmp_path / "mine.py"
    plugin.write_text("from llm_la_lab.policies.base import POLICIES, Policy\n\n"
                      "@POLICIES.register('always_first')\nclass AlwaysFirst(Policy):\n"
                      "    def choose(self, request, loads):\n        return loads[0].replica\n\n"
                      "@POLICIES.register('off_by_one')\nclass OffByOne(Policy):\n"
                      "    def choose(self, request, loads):\n        return len(loads)\n")
    args = ["llm-la", "compare", "--requests", "200", "--instances", "2", "--plugin", str(plugin),
            "--out", str(tmp_path)]
    assert main([*args, "--policies", "always_first", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["policies"]["always_first"]["requests_per_replica"] == [200, 0]
    assert main([*args, "--policies", "off_by_one"]) == 2
    assert "not offered" in capsys.readouterr().err


def test_trace_at_its_own_pace(tmp_path, capsys):
    assert main(["llm-la", "compare", "--requests", "200", "--load", "0", "--policies", "round_robin",
                 "--out", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    from llm_la_lab.workload import load_trace

    assert data["rate_rps"] == pytest.approx(load_trace("conv").head(200).rate)
    assert data["load"] < 0.2  # eight A100 replicas are far from busy at the trace's own pace


@pytest.mark.parametrize("setup,policy", [
    (Setup(requests=1500, instances=4, load=0.9, replica_spec="constrained"), "llm_la"),  # preemptions
    (Setup(requests=1500, instances=4, load=0.9, replica_spec="constrained"), "round_robin"),
    (Setup(requests=1200, instances=4, load=0.95, refresh_s=0.5), "least_outstanding_tokens"),  # stale signals
    (Setup(requests=1000, instances=3, load=0.8, replica=ReplicaConfig(chunked_prefill=False)), "power_of_two"),
    (Setup(trace="mooncake", requests=500, instances=4, load=0.85,  # prefix cache with LRU evictions
           replica=ReplicaConfig(kv_blocks=3000, max_num_seqs=64)), "weighted_scorer"),
    (Setup(trace="mooncake", requests=500, instances=4, load=0.85, replica_spec="llama3-8b-a100"), "cache_aware"),
], ids=["constrained-llm_la", "constrained-rr", "stale-lot", "no-chunking-p2", "mooncake-evicting", "mooncake"])
def test_skip_ahead_gives_the_step_by_step_numbers_figure_for_figure(setup, policy):
    import dataclasses

    workload, _, _ = build_workload(setup)
    step, step_run = run_policy(dataclasses.replace(setup, skip_ahead=False), workload, policy)
    skip, skip_run = run_policy(dataclasses.replace(setup, skip_ahead=True), workload, policy)
    assert skip == step  # every summary figure, exactly (not approximately)
    assert [(r.finished, r.first_token, r.replica, r.preemptions, r.cached) for r in skip_run.requests] == \
        [(r.finished, r.first_token, r.replica, r.preemptions, r.cached) for r in step_run.requests]
    assert (skip_run.outstanding == step_run.outstanding).all() and skip_run.duration_s == step_run.duration_s
    assert skip_run.stretches > 0 == step_run.stretches, "the skip-ahead path really ran"
    assert skip_run.evictions == step_run.evictions and skip_run.preemptions == step_run.preemptions
