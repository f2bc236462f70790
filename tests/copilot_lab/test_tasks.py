"""Graded tasks 4.1–4.4: pure-core tests, fast."""

import numpy as np
import pytest

from copilot_lab.agents.topology import personalized_pagerank
from copilot_lab.anomaly import robust_z
from copilot_lab.agents.base import Finding
from copilot_lab.coordinator import fuse
from copilot_lab.evaluate import ac_at_k, avg_at_k


@pytest.mark.task4_1
def test_robust_z_ignores_an_outlier_in_the_baseline():
    base = np.array([10.0, 11, 9, 10, 11, 9, 10, 1000])  # one wild outlier
    z = robust_z(base[:, None], np.array([[20.0], [20.0]]))
    assert z.shape == (1,)
    assert 5 < z[0] < 20  # median 10, MAD 1 -> sigma 1.48 -> z ≈ 6.7; a std-based z would be ≈ 0.03
    assert robust_z(base[:, None], np.array([[10.0]]))[0] == pytest.approx(0.0)


@pytest.mark.task4_1
def test_robust_z_handles_flat_sparse_and_missing_series():
    flat = np.full((20, 1), 5.0)
    assert np.isfinite(robust_z(flat, np.full((3, 1), 6.0))).all()
    sparse = np.zeros((20, 1))
    sparse[[3, 11]] = 1.0  # error counts: MAD is 0
    z = robust_z(sparse, np.full((5, 1), 1.0))
    assert np.isfinite(z).all() and z[0] > 2
    missing = np.full((10, 2), np.nan)
    missing[:, 1] = np.arange(10.0)
    z = robust_z(missing, np.array([[np.nan, 4.5]]))
    assert z[0] == 0.0 and abs(z[1]) < 1


@pytest.mark.task4_2
def test_pagerank_is_a_distribution_and_flows_to_the_sink():
    # a -> b -> c ; walker prefers going down: c should collect the most
    w = np.array([[0, 1.0, 0], [0, 0, 1.0], [0, 0, 1.0]])
    pi = personalized_pagerank(w, np.array([1.0, 1.0, 1.0]))
    assert pi.sum() == pytest.approx(1.0)
    assert pi[2] > pi[1] > pi[0]


@pytest.mark.task4_2
def test_pagerank_restarts_from_dangling_nodes_and_personalisation():
    w = np.array([[0, 1.0], [0, 0]])  # node 1 is dangling
    pi = personalized_pagerank(w, np.array([1.0, 0.0]), damping=0.5)
    # stationary: pi0 = 0.5 + 0.5*pi1 ; pi1 = 0.5*pi0  ->  pi0 = 2/3
    assert pi == pytest.approx([2 / 3, 1 / 3], abs=1e-6)


def _finding(agent, scores, strength=1.0):
    return Finding(agent, np.array(scores, dtype=float), strength)


@pytest.mark.task4_3
def test_fusion_weights_jurors_by_weight_times_strength():
    a = _finding("metric", [1, 0, 0])
    b = _finding("log", [0, 1, 0], strength=0.5)
    pooled, confidence, abstain = fuse([a, b], {"metric": 1.0, "log": 1.0}, sharpen=1.0, threshold=0.7)
    assert pooled == pytest.approx([2 / 3, 1 / 3, 0])
    assert confidence == pytest.approx(2 / 3) and abstain
    pooled, confidence, abstain = fuse([a, b], {"metric": 1.0, "log": 4.0}, sharpen=1.0, threshold=0.6)
    assert pooled == pytest.approx([1 / 3, 2 / 3, 0]) and not abstain


@pytest.mark.task4_3
def test_fusion_sharpens_and_skips_silent_jurors():
    a = _finding("trace", [3, 1, 0])
    silent = _finding("log", [0, 0, 0])
    pooled, confidence, _ = fuse([a, silent], {}, sharpen=2.0, threshold=0.7)
    assert pooled == pytest.approx([0.9, 0.1, 0])
    assert confidence == pytest.approx(0.9)
    pooled, confidence, abstain = fuse([silent], {}, sharpen=2.0, threshold=0.7)
    assert pooled == pytest.approx([1 / 3] * 3) and abstain


@pytest.mark.task4_4
def test_ac_at_k_and_avg_at_k():
    ranks = np.array([0, 1, 2, 5, -1])
    assert ac_at_k(ranks, 1) == pytest.approx(0.2)
    assert ac_at_k(ranks, 3) == pytest.approx(0.6)
    assert avg_at_k(ranks, 5) == pytest.approx((0.2 + 0.4 + 0.6 + 0.6 + 0.6) / 5)


@pytest.mark.task4_4
def test_avg_at_k_of_a_perfect_and_a_hopeless_method():
    assert avg_at_k(np.zeros(7, dtype=int), 5) == 1.0
    assert avg_at_k(np.full(7, 9), 5) == 0.0


@pytest.mark.task4_3
def test_confidence_is_the_margin_over_the_runner_up():
    a = _finding("metric", [2, 1, 1])
    pooled, confidence, abstain = fuse([a], {}, sharpen=1.0, threshold=0.7)
    assert pooled == pytest.approx([0.5, 0.25, 0.25])
    assert confidence == pytest.approx(2 / 3) and abstain  # p1 / (p1 + p2), not p1


@pytest.mark.task4_5
def test_variance_z_sees_a_spread_change_and_not_a_level_shift():
    from copilot_lab.anomaly import variance_z

    rng = np.random.default_rng(0)
    base = rng.normal(10, 1, (60, 3))
    test = np.column_stack([rng.normal(10, 3, 30), rng.normal(15, 1, 30), rng.normal(10, 0.2, 30)])
    z = variance_z(base, test)
    assert z.shape == (3,)
    assert z[0] > 3.5  # spread ×3, same level
    assert abs(z[1]) < 3  # a level shift alone: the test spread is around the test's own mean
    assert z[2] < -4  # spread shrank: negative


@pytest.mark.task4_5
def test_variance_z_standard_error_and_edge_cases():
    from copilot_lab.anomaly import variance_z

    base = np.tile([9.0, 11.0], 30)[:, None]  # MAD 1 -> s_b = 1.4826
    test = np.tile([8.0, 12.0], 10)[:, None]  # std (ddof=1) of ±2 around 10
    s_t = np.std(np.tile([8.0, 12.0], 10), ddof=1)
    expected = np.log(s_t / 1.4826) / np.sqrt(1 / (2 * 20) + 1.35 / 60)
    assert variance_z(base, test)[0] == pytest.approx(expected, rel=1e-6)
    one = variance_z(base, np.array([[30.0]]))  # a single test value has no spread
    assert one[0] == 0.0
    missing = np.full((10, 1), np.nan)
    assert variance_z(missing, test[:10])[0] == 0.0
    flat = variance_z(np.full((30, 1), 5.0), np.array([[5.0], [5.1], [4.9]]))
    assert np.isfinite(flat).all() and abs(flat[0]) < 50  # the flat-baseline floor bounds it


@pytest.mark.task4_1
def test_robust_z_floor_for_flat_baselines():
    flat = np.full((30, 2), [5.0, 0.0])
    z = robust_z(flat, np.array([[5.001, 0.001]]))
    assert abs(z[0]) < 1 and 0 < z[1] <= 101  # never "+1e9σ"
    noisy = np.tile([9.0, 11.0], 15)[:, None]
    assert robust_z(noisy, np.array([[1000.0]]))[0] > 500  # a real spread is not floored away
