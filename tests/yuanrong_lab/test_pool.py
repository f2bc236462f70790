import math

import pytest

from yuanrong_lab.keepalive.base import KeepAliveConfig, make_policy
from yuanrong_lab.pool import WarmPool


def _pool(policy="fixed", **kw):
    ttl = kw.pop("ttl_s", 10.0)
    cfg = KeepAliveConfig(policy=policy, options={"ttl_s": ttl} if policy == "fixed" else {})
    return WarmPool(make_policy(cfg), memory_gb=1.0, **kw)


def _call(pool, now):
    pool.tick(now)
    pool.arrive(now)
    inst = pool.acquire(now)
    cold = inst is None
    return (pool.start(now) if cold else inst), cold


@pytest.mark.task3_4
def test_warm_after_cold_and_reclaimed_after_ttl():
    pool = _pool(ttl_s=10.0)
    inst, cold = _call(pool, 0.0)
    assert cold
    pool.release(inst.id, 1.0)
    again, cold = _call(pool, 5.0)
    assert not cold and again.id == inst.id
    pool.release(again.id, 6.0)
    assert pool.tick(16.5).reclaimed == [inst.id]
    _, cold = _call(pool, 17.0)
    assert cold and pool.cold_starts == 2 and pool.invocations == 3
    assert pool.idle_gb_s == pytest.approx(4.0 + 10.0)  # idle 1→5, then 6→16 (TTL)


@pytest.mark.task3_4
def test_acquire_packs_calls_and_respects_concurrency():
    pool = _pool(concurrency=2)
    a, _ = _call(pool, 0.0)
    b = pool.start(0.0)
    pool.release(b.id, 0.1)
    # a has one call and a free slot: packing prefers it over the idle b
    assert pool.acquire(0.2).id == a.id
    assert pool.acquire(0.3).id == b.id  # a is full now
    assert pool.acquire(0.4).id == b.id
    assert pool.acquire(0.5) is None


@pytest.mark.task3_4
def test_acquire_prefers_the_most_recently_idle():
    pool = _pool()
    first, second = pool.start(0.0), pool.start(0.0)
    pool.release(first.id, 1.0)
    pool.release(second.id, 2.0)
    assert pool.acquire(3.0).id == second.id
    assert pool.idle_gb_s == pytest.approx(1.0)  # second idled 2→3; first still idle


def test_none_policy_makes_every_call_cold():
    pool = _pool("none")
    for k in range(5):
        inst, cold = _call(pool, float(k))
        assert cold
        pool.release(inst.id, k + 0.5)
    assert pool.cold_starts == 5


def test_prewarm_window_unloads_then_loads_before_the_next_call():
    pool = _pool("hybrid-histogram")
    for k in range(8):  # hourly: after 5 idle times the histogram pre-warms
        inst, cold = _call(pool, 3600.0 * k)
        pool.release(inst.id, 3600.0 * k + 1.0)
    assert pool.pending_prewarm is not None
    load_at, until = pool.pending_prewarm
    assert load_at == pytest.approx(7 * 3600.0 + 1.0 + 0.9 * 3600.0)
    result = pool.tick(load_at + 1.0)
    assert result.loaded and not pool.instances[result.loaded[0]].in_flight
    _, cold = _call(pool, 8 * 3600.0)
    assert not cold


def test_min_instances_are_loaded_and_kept():
    pool = _pool(min_instances=2, ttl_s=1.0)
    assert len(pool.tick(0.0).loaded) == 2
    assert pool.tick(100.0).reclaimed == []
    pool.close(100.0)
    assert pool.idle_gb_s == pytest.approx(200.0)


def test_max_instances_and_overflow():
    pool = _pool(max_instances=1)
    pool.start(0.0)
    assert pool.start(0.0) is None
    queued = pool.overflow(0.0)
    assert queued.in_flight == 2 and queued.expires_at == math.inf


def test_acquire_skips_instances_still_starting():
    pool = _pool(concurrency=2)
    loading = pool.add_idle(0.0)
    loading.ready = False
    assert pool.acquire(0.1) is None and pool.free_slots() == 0
    loading.ready = True
    assert pool.acquire(0.2).id == loading.id and pool.free_slots() == 1
