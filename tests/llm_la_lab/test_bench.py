"""`sysai llm-la bench --quick`: the benchmark runs, names its predictor, and keeps its expected shape.

Only model-time figures are asserted (seeded simulation); the wall-clock speed rows are reported,
never thresholded here.
"""

import json

import pytest

from sysai.cli import main


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_bench_quick_runs_every_policy_side_by_side(tmp_path, capsys):
    from llm_la_lab.policies.base import POLICIES

    assert main(["llm-la", "bench", "--quick", "--out", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    mooncake, shared = (part["compare"] for part in data["workloads"])
    for part in (mooncake, shared):
        assert list(part["policies"]) [0] == "round_robin" and set(part["policies"]) == set(POLICIES.names())
        assert part["predictor"] == "learned"
    m = mooncake["policies"]
    assert all(s["rejected"] == m["round_robin"]["rejected"] for s in m.values())  # the same requests are too long
    assert m["least_outstanding_tokens"]["prefix_hit_rate"] < m["weighted_scorer"]["prefix_hit_rate"]
    s = shared["policies"]
    # load-only routing loses the cache; prefix-aware routing keeps it and has the capacity for the load
    assert s["weighted_scorer"]["prefix_hit_rate"] > 2 * s["least_outstanding_tokens"]["prefix_hit_rate"]
    assert s["weighted_scorer"]["ttft_p90_s"] < 0.5 * s["round_robin"]["ttft_p90_s"]
    assert s["llm_la"]["e2e_mean_s"] < 0.5 * s["round_robin"]["e2e_mean_s"]
    modes = {(r["policy"], r["mode"]): r for r in data["speed"]}
    for policy in ("round_robin", "llm_la"):
        assert modes[(policy, "skip-ahead")]["e2e_mean_s"] == modes[(policy, "step by step")]["e2e_mean_s"]
    assert (tmp_path / "results.json").exists()
