"""Each policy on hand-made load signals, and the graded tasks' checks."""

import pytest

from sysai.errors import UserError

from llm_la_lab.experiments import Setup, compare
from llm_la_lab.load import LoadSignal
from llm_la_lab.policies.base import POLICIES, SinceSnapshot, make_policy
from llm_la_lab.predictors.base import make_predictor
from llm_la_lab.request import Request


def sig(replica, requests=0, waiting=0, tokens=0, kv=0.0, version=0, capacity=256, kv_tokens=1000):
    return LoadSignal(replica, version, 0.0, requests, waiting, tokens, kv, kv_tokens, capacity)


REQ = Request(0, 0.0, 100, 50)


def test_every_registered_policy_returns_an_offered_replica():
    loads = [sig(3, 5, 1, 900), sig(7, 2, 0, 100), sig(9, 4, 0, 500)]
    for name in POLICIES.names():
        choice = make_policy(name, 1).choose(REQ, loads)
        assert choice in (3, 7, 9), name


def test_round_robin_cycles_and_random_is_seeded():
    rr = make_policy("round_robin")
    loads = [sig(0), sig(1), sig(2)]
    assert [rr.choose(REQ, loads) for _ in range(4)] == [0, 1, 2, 0]
    one, two = make_policy("random", 5), make_policy("random", 5)
    assert [one.choose(REQ, loads) for _ in range(20)] == [two.choose(REQ, loads) for _ in range(20)]
    assert len({one.choose(REQ, loads) for _ in range(60)}) == 3


def test_power_of_two_never_picks_the_worse_of_its_pair():
    p2 = make_policy("power_of_two", 3)
    loads = [sig(0, 10), sig(1, 0)]
    assert {p2.choose(REQ, loads) for _ in range(20)} == {1}
    assert p2.choose(REQ, [sig(4, 3)]) == 4


@pytest.mark.task2_1
def test_least_requests_picks_fewest_requests():
    policy = make_policy("least_requests")
    assert policy.choose(REQ, [sig(0, 5, tokens=10), sig(1, 2, tokens=9000), sig(2, 3)]) == 1
    assert policy.choose(REQ, [sig(4, 1), sig(5, 1), sig(6, 4)]) in (4, 5)


@pytest.mark.task2_1
def test_least_requests_balances_a_burst_with_fresh_signals():
    policy = make_policy("least_requests")
    counts = [0, 0, 0]
    for _ in range(30):
        choice = policy.choose(REQ, [sig(i, counts[i]) for i in range(3)])
        counts[choice] += 1
    assert counts == [10, 10, 10]


@pytest.mark.task2_2
def test_least_outstanding_tokens_weighs_work_not_requests():
    policy = make_policy("least_outstanding_tokens")
    assert policy.choose(REQ, [sig(0, 1, tokens=5000), sig(1, 6, tokens=600), sig(2, 2, tokens=800)]) == 1


@pytest.mark.task2_2
def test_least_outstanding_tokens_beats_round_robin_on_ttft_tail():
    results = compare(Setup(requests=1500, load=0.95), ["round_robin", "least_outstanding_tokens"])
    rr, lot = results.policies["round_robin"], results.policies["least_outstanding_tokens"]
    assert lot["ttft_p99_s"] < 0.8 * rr["ttft_p99_s"]
    assert lot["imbalance_cv"] < rr["imbalance_cv"]


@pytest.mark.task2_3
def test_since_snapshot_counts_only_dispatches_a_snapshot_cannot_know():
    sent = SinceSnapshot()
    old = sig(0, version=7)
    assert sent.extra(old) == (0, 0)
    sent.record(old, 150)
    sent.record(old, 50)
    assert sent.extra(old) == (2, 200)
    assert sent.extra(sig(1, version=7)) == (0, 0), "per replica"
    new = sig(0, version=8)
    assert sent.extra(new) == (0, 0), "a new snapshot already includes them"
    sent.record(new, 10)
    assert sent.extra(new) == (1, 10) and sent.extra(old) == (0, 0)


@pytest.mark.task2_3
def test_llm_la_does_not_flood_a_stale_idle_replica():
    policy = make_policy("llm_la")  # REQ adds 150 tokens of KV demand per dispatch
    stale = [sig(0, 0, 0, 0, kv=0.5, version=1), sig(1, 3, 0, 900, kv=0.7, version=1)]
    choices = [policy.choose(REQ, stale) for _ in range(6)]
    assert choices[:5] == [0, 0, 0, 1, 1], "replicas fill up in the router's eyes, though the snapshots stay the same"
    assert choices[5] is None, "no replica has room: hold the request in the central queue"


def test_llm_la_orders_short_first_and_pulls_only_into_room():
    policy = make_policy("llm_la")
    short, long = Request(1, 10.0, 10, 5), Request(2, 9.0, 10, 2000)
    assert policy.order(short) < policy.order(long)
    assert policy.choose(REQ, [sig(0, 1, waiting=1), sig(1, 256, capacity=256), sig(2, 3, kv=0.95)]) is None
    assert policy.choose(REQ, [sig(0, 1, waiting=1), sig(1, 5, tokens=50), sig(2, 3, tokens=40)]) == 2


@pytest.mark.task2_4
def test_my_policy_beats_least_requests_on_ttft_p99():
    results = compare(Setup(requests=1500, load=0.95, seed=42), ["least_requests", "my_policy"])
    mine, lr = results.policies["my_policy"], results.policies["least_requests"]
    assert mine["ttft_p99_s"] < 0.95 * lr["ttft_p99_s"]
    assert mine["e2e_mean_s"] < 1.05 * lr["e2e_mean_s"], "without giving up mean latency"


def test_unknown_names_are_user_errors():
    with pytest.raises(UserError, match="unknown routing policy 'fastest'"):
        make_policy("fastest")
    with pytest.raises(UserError, match="length predictor"):
        make_predictor("psychic")


def test_predictors():
    r = Request(0, 0.0, 10, 300)
    assert make_predictor("oracle").predict(r) == 300
    assert make_predictor("none").predict(r) == make_predictor("none").predict(Request(1, 0.0, 10, 5))
    first = make_predictor("noisy", 1, 0.5).predict(r)
    noisy = make_predictor("noisy", 1, 0.5)
    many = [noisy.predict(r) for _ in range(400)]
    assert first == many[0] and min(many) < 200 < 450 < max(many)
    assert make_predictor("noisy", 1, 0.0).predict(r) == 300


def test_policy_options_from_the_command_line_and_yaml(tmp_path):
    from llm_la_lab.policies.base import policy_options

    path = tmp_path / "policies.yaml"
    path.write_text("llm_la:\n  aging_tokens_s: 1e9\n  kv_limit: 0.5\n")
    options = policy_options(["llm_la.kv_limit=0.7"], path)
    assert options == {"llm_la": {"aging_tokens_s": 1e9, "kv_limit": 0.7}}, "--set wins over the file"
    policy = make_policy("llm_la", 0, options["llm_la"])
    assert policy.config.kv_limit == 0.7
    assert policy.order(Request(1, 10.0, 10, 5)) == pytest.approx(policy.order(Request(2, 10.0, 10, 5000))), \
        "huge aging = FIFO"
    assert policy.choose(REQ, [sig(0, kv=0.71)]) is None, "above its KV limit: no room"
    assert make_policy("llm_la").choose(REQ, [sig(0, kv=0.71)]) == 0, "room under the default limit, 0.9"
    for bad, message in [(["llm_la.kv_limit=1.5"], "kv_limit must be in"), (["llm_la.speed=1"], "unknown key"),
                         (["llm_la.kv_limit=high"], "expected a number"), (["round_robin.x=1"], "has no options"),
                         (["kv_limit=1"], "POLICY.KEY=VALUE"), (["psychic.x=1"], "unknown routing policy")]:
        with pytest.raises(UserError, match=message):
            policy_options(bad)
    with pytest.raises(UserError, match="not found"):
        policy_options([], tmp_path / "missing.yaml")
