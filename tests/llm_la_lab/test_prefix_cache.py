"""Automatic prefix caching: vLLM's semantics, as properties that hold for any workload."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_la_lab.latency import LatencyModel
from llm_la_lab.prefix_cache import PrefixCache
from llm_la_lab.replica import ReplicaConfig, ReplicaCore
from llm_la_lab.request import DONE, Request, chain

UNIT = 32  # tokens per prefix key block (two KV blocks of 16)


def prompt_request(i, arrival, blocks, tail, output, system=0):  # noqa: D103
    """A prompt of `blocks` full key blocks (the first `system` shared by every such prompt) + `tail` tokens."""
    ids = [("sys", b) for b in range(system)] + [(i, b) for b in range(system, blocks)]
    return Request(i, arrival, blocks * UNIT + tail, output, keys=chain(ids), key_tokens=UNIT)


def check(core):
    cache = core.cache
    assert core.blocks_in_use() + core.free_blocks == core.config.kv_blocks, "KV blocks leaked or overcommitted"
    assert 0 <= cache.evictable_blocks == sum(cache.size[k] for k in cache.lru)
    for r in [*core.running, *core.partial]:
        for key in r.held:
            assert key in cache.size and cache.refs[key] > 0, "a referenced block was evicted"
    assert all(cache.refs[k] == 0 for k in cache.lru) and all(n > 0 or k in cache.lru for k, n in cache.refs.items())


def drive(core, requests):
    pending = sorted(requests, key=lambda r: r.arrival)
    now = 0.0
    finished = []
    while pending or core.requests:
        while pending and pending[0].arrival <= now:
            core.add(pending.pop(0))
        duration = core.plan(now)
        if duration is None:
            now = pending[0].arrival
            continue
        now += duration
        finished += core.complete(now)
        check(core)
    return finished


def test_a_repeated_prompt_hits_its_full_blocks_and_skips_their_prefill():
    model = LatencyModel()
    core = ReplicaCore(ReplicaConfig(chunked_prefill=False), model)
    first = prompt_request(0, 0.0, 10, 5, 3)  # 325 tokens: 10 full key blocks + 5 tokens
    drive(core, [first])
    assert first.cached == 0 and len(core.cache) == 10
    again = Request(1, 1.0, first.prompt, 3, keys=first.keys, key_tokens=UNIT)
    core.add(again)
    duration = core.plan(1.0)
    assert again.cached == 10 * UNIT, "every full block is found; the partial last one never is"
    assert duration == pytest.approx(model.iteration_s(5, 325**2 - 320**2, 0)), "only the 5 new tokens are computed"
    core.complete(1.0 + duration)
    assert core.cache.hits == 320 and core.cache.queries == 650


def test_a_fully_cached_prompt_still_computes_its_last_token():
    core = ReplicaCore(ReplicaConfig(), LatencyModel())
    first = prompt_request(0, 0.0, 4, 0, 2)  # exactly 4 key blocks
    drive(core, [first])
    again = Request(1, 1.0, first.prompt, 2, keys=first.keys, key_tokens=UNIT)
    drive(core, [again])
    assert again.cached == 3 * UNIT


def test_only_the_shared_leading_blocks_hit_the_hash_chain_stops_at_the_first_difference():
    core = ReplicaCore(ReplicaConfig(), LatencyModel())
    a = Request(0, 0.0, 6 * UNIT, 2, keys=chain([1, 2, 3, 4, 5, 6]), key_tokens=UNIT)
    b = Request(1, 1.0, 6 * UNIT, 2, keys=chain([1, 2, 9, 4, 5, 6]), key_tokens=UNIT)  # same ids after a change
    drive(core, [a])
    drive(core, [b])
    assert b.cached == 2 * UNIT


def test_unreferenced_blocks_are_evicted_least_recently_used_and_tail_first():
    cache = PrefixCache()
    for key in (1, 2, 3):
        cache.insert(key, 2)
    cache.release([1, 2, 3])  # tail first: 3 becomes evictable before 2 before 1
    cache.insert(4, 2)
    cache.release([4])
    assert list(cache.lru) == [3, 2, 1, 4] and cache.evictable_blocks == 8
    cache.acquire([2])
    assert cache.evict(3) == 4 and 3 not in cache.size and 1 not in cache.size and 2 in cache.size
    assert cache.evict(100) == 2 and len(cache) == 1 and cache.refs[2] == 1


def test_cached_blocks_count_as_free_for_kv_use_but_only_free_blocks_are_taken_first():
    core = ReplicaCore(ReplicaConfig(kv_blocks=100, block_size=16, watermark=0.0), LatencyModel())
    drive(core, [prompt_request(0, 0.0, 20, 0, 1)])  # 40 KV blocks now cached and unreferenced
    assert core.kv_util == 0.0 and core.cache.evictable_blocks == 40 and core.free_blocks == 60
    drive(core, [prompt_request(1, 1.0, 25, 0, 1)])  # needs 50 blocks: all from the free ones
    assert core.cache.evictable_blocks == 90 and core.free_blocks == 10
    drive(core, [prompt_request(2, 2.0, 10, 0, 1)])  # 20 blocks: 10 free + 10 evicted: the oldest prompt's tail
    assert core.free_blocks == 0 and core.cache.contains(prompt_request(0, 0, 20, 0, 1).keys) == 15
    assert core.cache.contains(prompt_request(1, 0, 25, 0, 1).keys) == 25


def test_sim_prefix_hit_rate_comes_from_the_replicas():
    from llm_la_lab.experiments import Setup, build_workload, run_policy

    setup = Setup(trace="mooncake", requests=300, instances=2, load=0.5, predictor="prompt_length")
    workload, _, _ = build_workload(setup)
    summary, run = run_policy(setup, workload, "round_robin")
    hits = sum(r.cached for r in run.requests if not r.rejected)
    assert 0 < summary["prefix_hit_rate"] < 1 and run.prefix_hits >= hits > 0


@settings(max_examples=60, deadline=None)
@given(
    chunked=st.booleans(),
    kv_blocks=st.integers(60, 400),
    budget=st.integers(32, 600),
    max_num_seqs=st.integers(1, 12),
    specs=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 4), st.integers(1, 31), st.integers(1, 60),
                             st.floats(0, 0.2)), min_size=1, max_size=30),
)
def test_cache_invariants_hold_for_any_mix_of_shared_prefixes(chunked, kv_blocks, budget, max_num_seqs, specs):
    """No block freed while referenced, no leak, hits never beyond the prompt's full blocks, all finish once."""
    config = ReplicaConfig(kv_blocks=kv_blocks, max_batched_tokens=budget, max_num_seqs=max_num_seqs,
                           chunked_prefill=chunked, block_size=16)
    core = ReplicaCore(config, LatencyModel())
    requests, t = [], 0.0
    for own, system, tail, output, gap in specs:
        t += gap
        r = prompt_request(len(requests), t, own + system, tail, output, system=system)
        if 0 < r.prompt and r.prompt + r.output <= config.context_limit:
            requests.append(r)
    admitted = requests
    finished = drive(core, admitted)
    assert sorted(r.id for r in finished) == sorted(r.id for r in admitted)
    for r in admitted:
        assert r.state == DONE and r.gen == r.output
        assert r.cached % UNIT == 0 and r.cached <= (r.prompt // UNIT) * UNIT and r.cached < r.prompt + 1
    assert core.free_blocks + core.cache.evictable_blocks == kv_blocks and core.outstanding_tokens == 0
    assert core.cache.hits <= core.cache.queries
