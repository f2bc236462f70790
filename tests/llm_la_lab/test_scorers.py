"""Task 2.5, the prefix scorer, and the scorers llm-d's scheduler sums."""

import pytest

from llm_la_lab.load import LoadSignal
from llm_la_lab.request import Request, chain
from llm_la_lab.scorers import ApproxIndex, kv_scores, prefix_scores, queue_scores


def keyed(blocks=8, tail=5, first=0):
    return Request(0, 0.0, blocks * 16 + tail, 10, keys=chain(range(first, first + blocks + 1)), key_tokens=16)


@pytest.mark.task2_5
def test_prefix_score_is_the_share_of_full_blocks_cached_from_the_first():
    r = keyed()  # 8 full blocks + 5 tokens: its 9th key (the partial block) never counts
    keys = r.keys
    caches = [set(), set(keys[:4]), set(keys), set(keys[1:]), None]
    assert prefix_scores(r, caches) == [0.0, 0.5, 1.0, 0.0, 0.0]


@pytest.mark.task2_5
def test_prefix_score_stops_at_the_first_block_not_cached():
    r = keyed()
    holey = set(r.keys[:3]) | set(r.keys[4:])  # block 3 evicted: blocks 4-7 cannot be reused
    assert prefix_scores(r, [holey]) == [3 / 8]
    assert prefix_scores(r, [{key: None for key in r.keys[:2]}]) == [2 / 8], "any container with `in` works"


@pytest.mark.task2_5
def test_a_request_without_full_blocks_scores_zero_everywhere():
    short = Request(0, 0.0, 10, 5, keys=chain([1]), key_tokens=16)  # 10 tokens: no full block
    assert prefix_scores(short, [set(short.keys), set()]) == [0.0, 0.0]
    assert prefix_scores(Request(1, 0.0, 100, 5), [set(), {1, 2}]) == [0.0, 0.0]


@pytest.mark.task2_5
def test_the_prefix_scorer_makes_weighted_scorer_keep_groups_together():
    from llm_la_lab.experiments import Setup, compare

    setup = Setup(trace=None, lengths="prefix:40,2048,256,20", requests=600, instances=4, load=0.8,
                  replica_spec="llama3-8b-a100")
    results = compare(setup, ["round_robin", "weighted_scorer"])
    rr, ws = results.policies["round_robin"], results.policies["weighted_scorer"]
    assert ws["prefix_hit_rate"] > rr["prefix_hit_rate"] + 0.15
    assert ws["ttft_p90_s"] < rr["ttft_p90_s"]


def sig(replica, requests=0, kv=0.0):
    return LoadSignal(replica, 0, 0.0, requests, 0, 0, kv, 1000, 256)


def test_queue_and_kv_scores_are_normalised():
    assert queue_scores([sig(0, 10), sig(1, 0), sig(2, 5)]) == [0.0, 1.0, 0.5]
    assert queue_scores([sig(0, 3), sig(1, 3)]) == [1.0, 1.0]
    assert kv_scores([sig(0, kv=0.25), sig(1, kv=1.2)]) == [0.75, 0.0]


def test_approx_index_forgets_the_oldest_blocks_beyond_the_replica_cache():
    index = ApproxIndex()
    small = LoadSignal(0, 0, 0.0, 0, 0, 0, 0.0, 16 * 10, 256)  # room for 10 blocks of 16 tokens
    a, b = keyed(8), keyed(8, first=100)
    index.record(small, a)
    index.record(small, b)
    assert index.size(0) == 10 and all(k in index.cache(0) for k in b.full_keys)
    assert sum(k in index.cache(0) for k in a.full_keys) == 2
