import pytest

from sysai.errors import UserError
from yuanrong_lab.keepalive.base import POLICIES, KeepAliveConfig, Windows, make_policy


def test_registry_lists_the_three_policies():
    assert {"none", "fixed", "hybrid-histogram"} <= set(POLICIES.defaults())
    with pytest.raises(UserError, match="unknown keep-alive policy 'lru'"):
        KeepAliveConfig(policy="lru")


@pytest.mark.parametrize("name", POLICIES.names())
def test_every_policy_builds_from_the_registry_and_answers_windows(name):
    policy = POLICIES.create(name, seed=1)
    windows = [policy.on_invocation(60.0 * k) for k in range(20)]
    assert all(w.prewarm_s >= 0 and w.keepalive_s >= 0 for w in windows)
    for label, options in POLICIES.get(name).sweep():
        POLICIES.make_config(name, options)  # every sweep point is a valid config


def test_none_reclaims_at_once():
    assert make_policy(KeepAliveConfig(policy="none")).on_invocation(5.0) == Windows(0.0, 0.0)


@pytest.mark.task3_1
def test_fixed_keeps_for_the_ttl_whatever_the_history():
    policy = make_policy(KeepAliveConfig(policy="fixed", options={"ttl_s": 600.0}))
    assert [policy.on_invocation(t) for t in (0.0, 1.0, 5000.0)] == [Windows(0.0, 600.0)] * 3
    assert make_policy(KeepAliveConfig(policy="fixed", options={"ttl_s": 42.0})).on_invocation(0.0) == Windows(
        0.0, 42.0
    )


def _hybrid(**kw):
    return make_policy(KeepAliveConfig(policy="hybrid-histogram", options=kw))


@pytest.mark.task3_2
def test_hybrid_prewarms_a_periodic_function():
    policy = _hybrid()
    windows = [policy.on_invocation(3600.25 * k) for k in range(10)]
    assert windows[0] == Windows(0.0, 600.0)  # no history yet: the fixed fallback
    # hourly idle times all fall in bin [60, 61) min: pre-warm 0.9 * 60 min, keep until 1.1 * 61 min
    assert windows[-1].prewarm_s == pytest.approx(0.9 * 3600.0)
    assert windows[-1].prewarm_s + windows[-1].keepalive_s == pytest.approx(1.1 * 61 * 60.0)


@pytest.mark.task3_2
def test_hybrid_percentiles_pick_head_and_tail_bins():
    policy = _hybrid(head_pct=5.0, tail_pct=99.0, margin=0.0, cv_threshold=0.5)
    t = 0.0
    policy.on_invocation(t)
    for gap_min in [3] * 19 + [10]:  # 95 % of idle times at 3 min, one at 10 min
        t += gap_min * 60.0 + 1.0
        w = policy.on_invocation(t)
    assert w.prewarm_s == pytest.approx(180.0)  # head bin [3, 4) min
    assert w.prewarm_s + w.keepalive_s == pytest.approx(660.0)  # tail bin [10, 11) min


@pytest.mark.task3_2
def test_hybrid_falls_back_when_not_representative():
    spread = _hybrid(fallback_ttl_s=123.0, min_samples=3)
    for k in range(60):  # idle times spread evenly over the range: CV of bin counts is low
        w = spread.on_invocation(sum(range(k + 1)) * 240.0)
    assert w == Windows(0.0, 123.0)
    rare = _hybrid(fallback_ttl_s=77.0)
    for k in range(10):  # every idle time beyond the 4 h range
        w = rare.on_invocation(k * 10 * 3600.0)
    assert w == Windows(0.0, 77.0)


def test_bad_config_is_a_user_error():
    with pytest.raises(UserError, match="percentiles"):
        KeepAliveConfig(policy="hybrid-histogram", options={"head_pct": 99.0, "tail_pct": 5.0})
    with pytest.raises(UserError, match="'ttl'"):
        KeepAliveConfig(policy="fixed", options={"ttl": 5})  # unknown key, named
    with pytest.raises(UserError, match="has no options"):
        KeepAliveConfig(policy="none", options={"ttl_s": 5})
