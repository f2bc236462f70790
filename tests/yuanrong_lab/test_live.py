"""The live runtime and its HTTP gateway on one shared local Ray cluster (started once here)."""

import json
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from tests.yuanrong_lab.promtext import parse
from yuanrong_lab import functions
from yuanrong_lab.config import FunctionConfig
from yuanrong_lab.keepalive.base import KeepAliveConfig

pytestmark = [pytest.mark.ray, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def rt():
    import yuanrong_lab.runtime as yr

    with yr.session(num_cpus=2) as runtime:
        yield runtime
    import ray

    assert not ray.is_initialized()


@pytest.fixture(autouse=True)
def _unregister_after(rt):
    """Each test's functions go when it ends: their idle instances would otherwise hold the
    module cluster's 2 CPUs (0.1 each) and starve later tests' cold starts."""
    before = set(rt.functions)
    yield
    for name in set(rt.functions) - before:
        rt.unregister(name)


def _cfg(policy="fixed", **kw):
    return FunctionConfig(
        keepalive=KeepAliveConfig(policy=policy, options={"ttl_s": 60.0} if policy == "fixed" else {}), **kw
    )


def test_cold_then_warm_with_a_measured_breakdown(rt):
    rt.register("classify", "yuanrong_lab.functions:Classifier", _cfg())
    first = rt.submit("classify", ({"x": [0.5]},))
    label = rt.get(first.ref)["label"]
    second = rt.submit("classify", ({"x": [0.5]},))
    assert first.cold and not second.cold and first.instance == second.instance
    assert rt.get(second.ref)["label"] == label
    deadline = time.time() + 10
    while time.time() < deadline and not {"init_ms", "total_ms"} <= set(
        rt.functions["classify"].cold_starts[first.instance]
    ):
        time.sleep(0.05)  # both are filled in by Ray's completion callbacks
    parts = rt.functions["classify"].cold_starts[first.instance]
    assert parts["actor_start_ms"] > 0 and parts["import_ms"] > 0 and parts["init_ms"] > 1.0
    assert parts["total_ms"] >= parts["init_ms"]
    text = rt.metrics.render(rt.gauges())
    assert 'yuanrong_cold_starts_total{function="classify"} 1' in text
    assert 'yuanrong_invocations_total{function="classify"} 2' in text
    assert 'yuanrong_cold_start_part_seconds_count{function="classify",part="init"} 1' in text


def test_keepalive_none_makes_every_call_cold(rt):
    rt.register("echo-none", "yuanrong_lab.functions:echo", _cfg("none"))
    calls = []
    for i in range(3):
        calls.append(rt.submit("echo-none", (i,)))
        assert rt.get(calls[-1].ref) == i
        time.sleep(0.05)
    assert [c.cold for c in calls] == [True, True, True]
    rt.unregister("echo-none")


def test_decorator_api_put_wait_and_by_value_chain(rt):
    import yuanrong_lab.runtime as yr

    transform = yr.invoke(functions.transform, max_instances=2)

    @yr.invoke
    def total(data):  # defined here: shipped to the actor by value (cloudpickle), not imported
        return int(np.asarray(data, dtype=np.uint64).sum())

    data = functions.source(300_000)
    ref = yr.put(data)
    for _ in range(3):
        ref = transform.invoke(ref)  # by reference: the actor reads the object store
    value = data
    for _ in range(3):
        value = yr.get(transform.invoke(value, by_value=True))  # through the caller each hop
    ready, _ = yr.wait([ref], wait_num=1, timeout=30)
    assert ready == [ref]
    assert yr.get(total.invoke(ref)) == yr.get(total.invoke(value)) == functions.checksum(data ^ 0x5A)
    assert total(np.ones(4)) == 4  # still callable locally


def test_stateful_instance_runs_calls_in_order_until_terminated(rt):
    import ray

    import yuanrong_lab.runtime as yr

    counter = yr.instance(functions.Counter).invoke(100)
    refs = [counter.add.invoke(k) for k in range(1, 21)]
    assert yr.get(refs) == [100 + k * (k + 1) // 2 for k in range(1, 21)]
    assert yr.get(counter.seen.invoke()) == list(range(1, 21))
    counter.terminate()
    with pytest.raises(ray.exceptions.RayActorError):  # at-most-once: never replayed
        yr.get(counter.get.invoke(), timeout=30)


def test_errors_and_timeouts_are_ours_and_stop_the_instance(rt):
    import yuanrong_lab.runtime as yr

    rt.register("fail", "yuanrong_lab.functions:fail", _cfg())
    with pytest.raises(yr.FunctionError, match="ValueError: asked to fail: 7"):
        rt.get(rt.invoke("fail", 7))
    rt.register("slow", "yuanrong_lab.functions:sleep", _cfg(timeout_s=1.5))
    rt.get(rt.invoke("slow", {"seconds": 0.01}))  # warm it up: the timeout is about the call
    with pytest.raises(yr.FunctionTimeout):
        rt.get(rt.invoke("slow", {"seconds": 20}))
    assert len(rt.functions["slow"].pool.instances) == 0  # the stuck instance was stopped
    assert rt.get(rt.invoke("slow", {"seconds": 0.01})) == {"slept": 0.01}


def test_a_call_whose_instance_dies_is_retried_once_elsewhere(rt):
    import ray

    rt.register("fragile", "yuanrong_lab.functions:sleep", _cfg())
    rt.get(rt.invoke("fragile", {"seconds": 0.01}))
    call = rt.submit("fragile", ({"seconds": 1.0},))
    time.sleep(0.3)
    ray.kill(rt.functions["fragile"].actors[call.instance], no_restart=True)  # like losing its node
    assert rt.get(call.ref) == {"slept": 1.0}  # at-least-once: it ran again on a new instance
    assert rt.functions["fragile"].pool.cold_starts == 2
    assert call.instance not in rt.functions["fragile"].actors
    assert call.ref not in rt._lost


def test_a_lost_call_nobody_fetches_is_forgotten(rt):
    import ray

    rt.register("orphan", "yuanrong_lab.functions:sleep", _cfg())
    rt.get(rt.invoke("orphan", {"seconds": 0.01}))
    call = rt.submit("orphan", ({"seconds": 5.0},))
    time.sleep(0.3)
    ray.kill(rt.functions["orphan"].actors[call.instance], no_restart=True)
    deadline = time.time() + 20
    while call.ref not in rt._lost and time.time() < deadline:
        time.sleep(0.05)
    assert call.ref in rt._lost and call.instance not in rt.functions["orphan"].pool.instances  # dead: no more calls
    saved, rt.lost_ttl_s = rt.lost_ttl_s, 0.2
    try:
        deadline = time.time() + 5
        while call.ref in rt._lost and time.time() < deadline:
            time.sleep(0.05)
        assert call.ref not in rt._lost  # the ticker dropped it: no leak
    finally:
        rt.lost_ttl_s = saved
    with pytest.raises(ray.exceptions.RayActorError):  # fetched too late: not retried
        rt.get(call.ref, timeout=10)
    rt.unregister("orphan")


def test_an_instance_whose_init_fails_is_the_functions_error_not_retried(rt):
    import yuanrong_lab.runtime as yr

    rt.register("typo", "yuanrong_lab.functions:no_such_function", _cfg())
    with pytest.raises(yr.FunctionError, match="failed to start: AttributeError: .*no_such_function"):
        rt.get(rt.invoke("typo", 1))
    pool = rt.functions["typo"].pool
    deadline = time.time() + 10
    while pool.instances and time.time() < deadline:
        time.sleep(0.05)  # the dead instance is dropped by Ray's completion callback
    assert pool.cold_starts == 1 and not pool.instances and not rt.functions["typo"].actors
    rt.unregister("typo")


def test_burst_mode_scales_out_at_once_the_default_queues(rt):
    for name, burst in (("calm", False), ("bursty", True)):
        rt.register(name, "yuanrong_lab.functions:sleep", _cfg(burst=burst, max_instances=4))
        calls = [rt.submit(name, ({"seconds": 0.5},)) for _ in range(4)]
        rt.get([c.ref for c in calls])
    calm, bursty = rt.functions["calm"].pool, rt.functions["bursty"].pool
    assert calm.cold_starts == 1  # the rest queued behind it within the 1 s scale-up window
    # burst mode starts an instance whenever demand reaches 2x the instances: calls 1, 2 and 4
    assert bursty.cold_starts == 3


# --- the gateway --------------------------------------------------------------------------------


def _http(url, method="GET", body=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            payload = resp.read()
            return resp.status, (
                json.loads(payload) if "json" in resp.headers.get("Content-Type", "") else payload.decode()
            )
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def gateway(rt):
    from sysai.http import serve_in_thread
    from yuanrong_lab.gateway import make_app

    with serve_in_thread(make_app(rt, max_body=4096)) as url:
        yield url


def test_gateway_register_invoke_list_delete(gateway):
    status, body = _http(
        f"{gateway}/functions",
        "POST",
        {"name": "gw-echo", "target": "yuanrong_lab.functions:echo", "config": {"concurrency": 4}},
    )
    assert status == 201 and body["config"]["concurrency"] == 4
    status, body = _http(f"{gateway}/functions/gw-echo/invocations", "POST", {"hello": [1, 2]})
    assert status == 200 and body["result"] == {"hello": [1, 2]} and body["cold_start"] is True
    status, body = _http(f"{gateway}/functions/gw-echo/invocations", "POST", {"again": True})
    assert status == 200 and body["cold_start"] is False
    status, body = _http(f"{gateway}/functions")
    assert "gw-echo" in {f["name"] for f in body["functions"]}
    status, text = _http(f"{gateway}/metrics")
    assert status == 200 and 'yuanrong_invocations_total{function="gw-echo"} 2' in text
    parse(text)  # valid Prometheus text
    assert 'yuanrong_instances{function="gw-echo"} 1' in text and "yuanrong_idle_memory_gb_seconds" in text
    assert _http(f"{gateway}/functions/gw-echo", "DELETE")[0] == 200
    assert _http(f"{gateway}/functions/gw-echo/invocations", "POST", {})[0] == 404


def test_gateway_error_codes_and_survives_them(gateway, rt):
    register = lambda body: _http(f"{gateway}/functions", "POST", body)  # noqa: E731
    assert register({"name": "x"})[0] == 400
    for bad in ("a/b", 'q"x', "", "-x", "y" * 129):
        status, body = register({"name": bad, "target": "yuanrong_lab.functions:echo"})
        assert status == 400 and "function name" in body["error"]
    assert register({"name": "x", "target": "no_such_module_here:f"})[0] == 403  # not allow-listed
    status, body = register({"name": "x", "target": "yuanrong_lab.functions:echo", "config": {"concurency": 2}})
    assert status == 400 and "concurency" in body["error"]
    assert register({"name": "gw-fail", "target": "yuanrong_lab.functions:fail"})[0] == 201
    assert register({"name": "gw-fail", "target": "yuanrong_lab.functions:fail"})[0] == 409
    assert (
        register({"name": "gw-sleep", "target": "yuanrong_lab.functions:sleep", "config": {"timeout_s": 1.0}})[0] == 201
    )
    invoke = lambda name, **kw: _http(f"{gateway}/functions/{name}/invocations", "POST", **kw)  # noqa: E731
    assert invoke("nope", body={})[0] == 404
    assert invoke("gw-fail", raw=b"{not json")[0] == 400
    status, body = invoke("gw-fail", raw=json.dumps({"pad": "x" * 5000}).encode())
    assert status == 413 and "limit" in body["error"]
    status, body = invoke("gw-fail", body={"why": "test"})
    assert status == 500 and "ValueError: asked to fail" in body["error"]
    assert invoke("gw-sleep", body={"seconds": 0.01})[0] == 200  # warm: a cold call gets init_timeout_s more
    status, body = invoke("gw-sleep", body={"seconds": 10})
    assert status == 504 and "1 s" in body["error"]
    assert _http(f"{gateway}/nowhere")[0] == 404
    status, body = invoke("gw-sleep", body={"seconds": 0.01})  # a new instance replaces the stopped one
    assert status == 200 and body["result"] == {"slept": 0.01} and body["cold_start"] is True
    status, body = register({"name": "gw-typo", "target": "yuanrong_lab.functions:nope"})
    assert status == 403 and "not a demo function" in body["error"]


def test_invoke_command_against_the_gateway(gateway, capsys):
    from sysai.cli import main

    assert (
        _http(f"{gateway}/functions", "POST", {"name": "cli-echo", "target": "yuanrong_lab.functions:echo"})[0] == 201
    )
    assert main(["yuanrong", "invoke", "cli-echo", "--url", gateway, "--data", '{"a": 1}', "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)  # Ray's "(raylet) ..." notices go to stderr, never here
    assert answer["result"] == {"a": 1} and answer["cold_start"] is True
    assert main(["yuanrong", "invoke", "cli-missing", "--url", gateway]) == 2
    assert "HTTP 404: unknown function 'cli-missing'" in capsys.readouterr().err


def _concurrently(calls):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda c: c(), calls))


def test_a_queued_call_gets_its_own_execution_timeout_and_kills_nothing(gateway, rt):
    # one slot; each call sleeps 1.5 s of a 2.5 s timeout: the second waits ~1.5 s in the queue first,
    # which must not count against its execution time (the old single clock made it 504 and killed
    # the instance under the first call)
    cfg = {"timeout_s": 2.5, "queue_timeout_s": 60, "max_instances": 1, "scale_up_window_s": 30}
    assert (
        _http(
            f"{gateway}/functions", "POST", {"name": "q-exec", "target": "yuanrong_lab.functions:sleep", "config": cfg}
        )[0]
        == 201
    )
    assert _http(f"{gateway}/functions/q-exec/invocations", "POST", {"seconds": 0.01})[0] == 200  # warm
    call = lambda: _http(f"{gateway}/functions/q-exec/invocations", "POST", {"seconds": 1.5})  # noqa: E731
    answers = _concurrently([call, call])
    assert [a[0] for a in answers] == [200, 200]
    assert rt.functions["q-exec"].pool.cold_starts == 1  # nobody was killed and restarted


def test_a_call_past_its_queue_deadline_is_503_and_the_running_call_survives(gateway, rt):
    cfg = {"timeout_s": 30, "queue_timeout_s": 0.5, "max_instances": 1, "scale_up_window_s": 30}
    assert (
        _http(
            f"{gateway}/functions", "POST", {"name": "q-dead", "target": "yuanrong_lab.functions:sleep", "config": cfg}
        )[0]
        == 201
    )
    assert _http(f"{gateway}/functions/q-dead/invocations", "POST", {"seconds": 0.01})[0] == 200
    long = lambda: _http(f"{gateway}/functions/q-dead/invocations", "POST", {"seconds": 4.0})  # noqa: E731

    def late():
        time.sleep(0.5)  # after the long call took the only slot
        return _http(f"{gateway}/functions/q-dead/invocations", "POST", {"seconds": 0.01})

    (s_long, b_long), (s_late, b_late) = _concurrently([long, late])
    assert s_long == 200 and b_long["result"] == {"slept": 4.0}
    assert s_late == 503 and "queue_timeout_s" in b_late["error"] and "did not run" in b_late["error"]
    assert rt.functions["q-dead"].pool.cold_starts == 1 and not rt.functions["q-dead"].waiters
    text = _http(f"{gateway}/metrics")[1]
    assert 'yuanrong_queue_timeouts_total{function="q-dead"} 1' in text


def test_the_autoscaler_scales_a_queue_out_and_every_call_succeeds(gateway, rt):
    cfg = {"timeout_s": 30, "max_instances": 3, "scale_up_window_s": 0.5}
    assert (
        _http(
            f"{gateway}/functions", "POST", {"name": "q-scale", "target": "yuanrong_lab.functions:sleep", "config": cfg}
        )[0]
        == 201
    )
    call = lambda: _http(f"{gateway}/functions/q-scale/invocations", "POST", {"seconds": 1.0})  # noqa: E731
    answers = _concurrently([call] * 6)
    assert [a[0] for a in answers] == [200] * 6, answers
    pool = rt.functions["q-scale"].pool
    assert pool.cold_starts == 1 and len(pool.instances) > 1  # one cold start; the rest scaled out by the ticker
    text = _http(f"{gateway}/metrics")[1]
    assert f'yuanrong_instances{{function="q-scale"}} {len(pool.instances)}' in text
