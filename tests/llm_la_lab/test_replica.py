"""Replica-model invariants: no KV overcommit, every request finishes exactly once, tokens conserved."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sysai.errors import UserError

from llm_la_lab.latency import LatencyModel
from llm_la_lab.replica import ReplicaConfig, ReplicaCore
from llm_la_lab.request import DONE, Request


def drive(core, requests, seed=0):
    """Feed `requests` at their arrival times; check the KV invariant after every iteration."""
    pending = sorted(requests, key=lambda r: r.arrival)
    finished = []
    now = 0.0
    rng = random.Random(seed)
    while pending or core.requests:
        while pending and pending[0].arrival <= now:
            core.add(pending.pop(0))
        duration = core.plan(now)
        if duration is None:
            now = pending[0].arrival
            continue
        assert duration > 0
        assert 0 <= core.free_blocks <= core.config.kv_blocks
        now += duration
        finished += core.complete(now)
        assert core.blocks_in_use() + core.free_blocks == core.config.kv_blocks, "KV blocks leaked or overcommitted"
        assert core.outstanding_tokens >= 0
        if rng.random() < 0.01:
            now += 0.05  # an idle gap now and then
    return finished


def make_requests(n, seed, max_prompt=300, max_output=200, rate=50.0):
    rng = random.Random(seed)
    t = 0.0
    out = []
    for i in range(n):
        t += rng.expovariate(rate)
        output = rng.randint(1, max_output)
        predicted = max(1, int(output * rng.uniform(0.3, 3)))
        out.append(Request(i, t, rng.randint(1, max_prompt), output, predicted=predicted))
    return out


@pytest.mark.parametrize("seed,chunked", [(0, True), (1, True), (2, False)])
def test_tiny_cache_preempts_and_conserves_everything(seed, chunked):
    core = ReplicaCore(ReplicaConfig(max_num_seqs=16, max_batched_tokens=512, kv_blocks=80, block_size=8,
                                     chunked_prefill=chunked), LatencyModel())
    requests = make_requests(120, seed)
    finished = drive(core, requests, seed)
    assert sorted(r.id for r in finished) == list(range(120)), "each request finishes exactly once"
    assert core.preemptions > 0, "a tiny cache must force preemptions"
    assert sum(r.preemptions for r in requests) == core.preemptions
    for r in requests:
        assert r.state == DONE and r.gen == r.output
        assert r.arrival <= r.started <= r.first_token <= r.finished
    assert core.free_blocks == core.config.kv_blocks and core.outstanding_tokens == 0
    assert core.under_pred == 0 and core.pred_left == 0


def test_decode_time_grows_with_batch_and_context():
    core = ReplicaCore(ReplicaConfig(chunked_prefill=False), LatencyModel())
    for i in range(6):
        core.add(Request(i, 0.0, 2000, 50))
    prefill = core.plan(0.0)
    assert prefill == pytest.approx(LatencyModel().iteration_s(8000, 4 * 2000**2, 0))
    core.complete(prefill)
    assert len(core.running) == 4  # 8192-token prefill budget / 2000-token prompts
    core.complete(prefill + core.plan(prefill))  # prefill of the other two
    decode = core.plan(prefill)
    assert core.decoding and not core.batch and decode == pytest.approx(LatencyModel().iteration_s(6, 0, 6 * 2000))
    assert decode > LatencyModel().iteration_s(4, 0, 4 * 2000)


def test_prefill_has_priority_and_first_token_comes_from_prefill():
    core = ReplicaCore(ReplicaConfig(chunked_prefill=False), LatencyModel())
    a = Request(0, 0.0, 100, 3)
    core.add(a)
    t = core.plan(0.0)
    assert core.batch and not core.decoding and core.complete(t) == []
    assert a.first_token == t and core.generated(a) == 1
    b = Request(1, t, 100, 1)
    core.add(b)
    t2 = t + core.plan(t)
    assert core.batch and not core.decoding, "a waiting request is prefilled before the next decode step"
    assert core.complete(t2) == [b]  # a one-token request ends with its prefill
    assert core.generated(a) == 1


def test_chunked_prefill_decodes_first_then_fills_the_budget_with_chunks():
    core = ReplicaCore(ReplicaConfig(max_batched_tokens=1000), LatencyModel())
    a = Request(0, 0.0, 100, 50)
    core.add(a)
    now = core.plan(0.0)
    core.complete(now)
    assert core.generated(a) == 1 and a in core.running
    long = Request(1, now, 2500, 5)
    core.add(long)
    seen = []
    while long.first_token is None:
        duration = core.plan(now)
        assert core.decoding, "the running request decodes in every iteration of the long prefill"
        (chunk_of, chunk), = core.batch
        assert chunk_of is long and chunk == min(999, 2500 - long.done)
        seen.append(chunk)
        before = core.generated(a)
        now += duration
        core.complete(now)
        assert core.generated(a) == before + 1
    assert seen == [999, 999, 502] and long.first_token == now and core.generated(long) == 1
    # chunk attention telescopes to the whole prompt's: Σ ((d + c)² − d²) = 2500²
    assert core.latency.iteration_s(1 + 999, 999**2, 0) < core.latency.iteration_s(1 + 999, 2500**2 - 1998**2, 0)


def test_a_request_longer_than_max_model_len_is_rejected_not_queued():
    core = ReplicaCore(ReplicaConfig(max_model_len=1000), LatencyModel())
    big = Request(0, 0.0, 990, 11)
    assert core.add(big) is False and big.rejected and core.rejected == 1
    assert core.requests == 0 and core.plan(0.0) is None
    ok = Request(1, 0.0, 990, 10)
    assert core.add(ok) is True and core.requests == 1
    assert ReplicaConfig(kv_blocks=100, block_size=16, watermark=0.0).context_limit == 1600
    assert ReplicaConfig(kv_blocks=100, block_size=16, watermark=0.0, max_model_len=4096).context_limit == 1600


def test_outstanding_tokens_count_prefill_and_predicted_decode():
    core = ReplicaCore(ReplicaConfig(), LatencyModel())
    r = Request(0, 0.0, 100, 10, predicted=4)
    core.add(r)
    assert core.outstanding_tokens == 104
    now = core.plan(0.0)
    core.complete(now)
    assert core.outstanding_tokens == 3  # predicted 4, one generated by the prefill
    for _ in range(5):
        now += core.plan(now)
        core.complete(now)
    assert core.outstanding_tokens == 0  # past its prediction: counted as zero, never negative


def test_a_request_larger_than_the_cache_is_refused():
    core = ReplicaCore(ReplicaConfig(kv_blocks=10, block_size=16), LatencyModel())
    r = Request(0, 0.0, 200, 10)
    assert not core.add(r) and r.rejected


def test_prefix_blocks_must_be_whole_kv_blocks():
    core = ReplicaCore(ReplicaConfig(block_size=16), LatencyModel())
    with pytest.raises(UserError, match="not a multiple"):
        core.add(Request(0, 0.0, 200, 10, keys=(1, 2), key_tokens=24))


def test_bad_config_is_rejected():
    with pytest.raises(ValueError):
        ReplicaConfig(watermark=1.5)


@settings(max_examples=40, deadline=None)
@given(
    chunked=st.booleans(),
    block_size=st.integers(1, 32),
    kv_blocks=st.integers(30, 300),
    max_num_seqs=st.integers(1, 24),
    budget=st.integers(16, 1024),
    watermark=st.sampled_from([0.0, 0.01, 0.1]),
    lengths=st.lists(st.tuples(st.integers(1, 200), st.integers(1, 120), st.integers(1, 300),
                               st.floats(0.0, 0.5)), min_size=1, max_size=40),
)
def test_invariants_hold_for_any_configuration(chunked, block_size, kv_blocks, max_num_seqs, budget, watermark,
                                              lengths):
    config = ReplicaConfig(max_num_seqs=max_num_seqs, max_batched_tokens=budget, block_size=block_size,
                           kv_blocks=kv_blocks, watermark=watermark, chunked_prefill=chunked)
    core = ReplicaCore(config, LatencyModel())
    fits = (kv_blocks - int(watermark * kv_blocks)) * block_size
    requests, t = [], 0.0
    for prompt, output, predicted, gap in lengths:
        if prompt + output <= fits:
            t += gap
            requests.append(Request(len(requests), t, prompt, output, predicted))
    finished = drive(core, requests)
    assert sorted(r.id for r in finished) == list(range(len(requests)))
    assert all(r.gen == r.output and r.state == DONE for r in requests)
    assert core.free_blocks == kv_blocks and core.outstanding_tokens == 0 and not core.running


@pytest.mark.parametrize("seed,chunked", [(3, True), (4, False)])
def test_aborted_requests_free_everything_and_end_once(seed, chunked):
    """Clients hanging up at random moments (waiting, prefilling, decoding): no leak, nothing lost."""
    core = ReplicaCore(ReplicaConfig(max_num_seqs=16, max_batched_tokens=512, kv_blocks=80, block_size=8,
                                     chunked_prefill=chunked), LatencyModel())
    requests = make_requests(150, seed)
    wanted = {r.id: r.output for r in requests}
    pending = list(requests)
    rng = random.Random(seed)
    ended, aborted = [], set()
    now = 0.0
    while pending or core.requests:
        while pending and pending[0].arrival <= now:
            core.add(pending.pop(0))
        duration = core.plan(now)
        if duration is None:
            now = pending[0].arrival
            continue
        live = [r for r in requests if r.state != DONE and r.arrival <= now and r.id not in aborted]
        if live and rng.random() < 0.3:  # a hang-up while the iteration is in flight
            victim = rng.choice(live)
            aborted.add(victim.id)
            core.abort(victim)
            if victim.state == DONE:
                ended.append(victim)  # it was waiting: gone at once
        now += duration
        ended += core.complete(now)
        assert core.blocks_in_use() + core.free_blocks == core.config.kv_blocks, "KV blocks leaked or overcommitted"
        assert core.outstanding_tokens >= 0
    assert sorted(r.id for r in ended) == list(range(150)), "each request ends exactly once"
    assert len(aborted) > 10 and core.free_blocks == core.config.kv_blocks and core.outstanding_tokens == 0
    for r in requests:
        assert r.state == DONE and r.gen <= r.output
    assert sum(r.gen < wanted[r.id] for r in requests) > 10, "aborts cut requests short"
