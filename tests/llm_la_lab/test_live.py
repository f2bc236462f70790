"""Live mode on 127.0.0.1: mock engines, the proxy (openai client and raw HTTP), a backend killed
mid-run, and sim-vs-live agreement."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack

import pytest
from openai import OpenAI
from prometheus_client.parser import text_string_to_metric_families

from sysai.errors import UserError
from sysai.http import serve_in_thread

from llm_la_lab.experiments import Setup, build_workload, run_policy
from llm_la_lab.live.agreement import agreement, same_order
from llm_la_lab.live.engine import make_engine_app
from llm_la_lab.live.proxy import Proxy, make_proxy_app
from llm_la_lab.live.replay import check_url, replay
from llm_la_lab.policies.base import Policy, make_policy
from llm_la_lab.predictors.base import make_predictor
from llm_la_lab.replica import ReplicaConfig
from llm_la_lab.request import Request
from llm_la_lab.workload import load_trace

SMALL = ReplicaConfig(kv_blocks=1000, max_num_seqs=32)


def post(url, body, raw=None):
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.timeout(60)
def test_engine_speaks_openai_over_raw_http():
    with serve_in_thread(make_engine_app(time_scale=0.05)) as url:
        status, text = post(f"{url}/v1/completions", {"prompt": "a b c d", "max_tokens": 5, "stream": True})
        events = [e for e in text.split("\n\n") if e]
        assert status == 200 and len(events) == 6 and events[-1] == "data: [DONE]"
        assert json.loads(events[0][6:])["choices"][0]["text"] == " token"
        status, text = post(f"{url}/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}],
                                                           "max_tokens": 3})
        assert status == 200 and json.loads(text)["usage"] == {"prompt_tokens": 1, "completion_tokens": 3,
                                                               "total_tokens": 4}
        load = json.loads(urllib.request.urlopen(f"{url}/load").read())
        assert load["requests"] == 0 and load["served"] == 2 and load["kv_util"] == 0
        assert post(f"{url}/v1/completions", None, raw=b"{nope")[0] == 400
        status, text = post(f"{url}/v1/completions", {"prompt": "x", "max_tokens": -2})
        assert status == 400 and "max_tokens" in json.loads(text)["error"]["message"]
        status, text = post(f"{url}/v1/completions", {"prompt": "x", "max_tokens": 117_500})  # > cache − watermark
        error = json.loads(text)["error"]
        assert status == 400 and error["type"] == "BadRequestError"  # vLLM's answer, and the engine keeps serving
        assert error["message"].startswith("This model's maximum context length is 116432 tokens. However, you "
                                           "requested 117501 tokens (1 in the messages, 117500 in the completion)")
        status, text = post(f"{url}/v1/completions", {"prompt": "x", "max_tokens": 2})
        assert status == 200


@pytest.fixture
def cluster():
    """Two in-process mock engines behind a round-robin proxy."""
    with ExitStack() as stack:
        engines = [stack.enter_context(serve_in_thread(make_engine_app(f"e{i}", SMALL, time_scale=0.05)))
                   for i in range(2)]
        proxy = Proxy(engines, make_policy("round_robin"), make_predictor("oracle"), refresh_s=0.02)
        url = stack.enter_context(serve_in_thread(make_proxy_app(proxy)))
        yield url, proxy


@pytest.mark.timeout(60)
def test_proxy_works_with_the_openai_client(cluster):
    url, proxy = cluster
    client = OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    reply = client.completions.create(model="m", prompt="one two three", max_tokens=4)
    assert reply.choices[0].text == " token" * 4 and reply.usage.completion_tokens == 4
    chunks = list(client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hello"}],
                                                 max_tokens=6, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == " token" * 6
    for _ in range(6):
        client.completions.create(model="m", prompt="x", max_tokens=2)
    stats = json.loads(urllib.request.urlopen(f"{url}/stats").read())
    assert sum(b["routed"] for b in stats["backends"]) == 8 and all(b["routed"] > 0 for b in stats["backends"])
    assert [m.id for m in client.models.list()] == ["mock-llama-2-7b"]
    usage = [c.usage for c in client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "a b"}], max_tokens=2, stream=True,
        stream_options={"include_usage": True}) if c.usage]
    assert usage and usage[0].completion_tokens == 2
    for body in [{"max_tokens": 2}, {"prompt": None}, {"prompt": "x", "stream_options": 3}]:
        status, text = post(f"{url}/v1/completions", body)
        assert status == 400 and json.loads(text)["error"]["message"], body
    status, text = post(f"{url}/v1/chat/completions", {"messages": [{"role": "user"}]})
    assert status == 400 and "content" in json.loads(text)["error"]["message"]
    status, text = post(f"{url}/v1/nowhere", {})
    assert status == 404 and json.loads(text)["error"]["code"] == 404


@pytest.mark.timeout(60)
def test_a_client_hanging_up_mid_stream_is_aborted_not_blamed_on_the_backend(cluster):
    url, proxy = cluster
    body = json.dumps({"prompt": "x", "max_tokens": 10000, "stream": True}).encode()
    request = urllib.request.Request(f"{url}/v1/completions", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        resp.read(2000)  # a few tokens, then hang up
    engines = [b.url for b in proxy.backends]
    for _ in range(400):  # up to 20 s: a loaded CI machine notices the hang-up late
        loads = [json.loads(urllib.request.urlopen(f"{e}/load").read()) for e in engines]
        # both settle: the abort is counted a moment before the request leaves the engine's count
        if sum(load["aborted"] for load in loads) == 1 and all(load["requests"] == 0 for load in loads):
            break
        time.sleep(0.05)
    assert sum(load["aborted"] for load in loads) == 1 and all(load["requests"] == 0 for load in loads), \
        "the engine stops generating for a client that is gone"
    assert proxy.stats.client_disconnects == 1 and proxy.stats.cut_streams == 0
    assert all(b.healthy and b.failures == 0 for b in proxy.backends)


@pytest.mark.timeout(90)
def test_backend_killed_mid_run_loses_nothing_silently():
    engine = subprocess.Popen([sys.executable, "-m", "sysai", "llm-la", "serve-engines", "--instances", "1",
                               "--port", "0", "--time-scale", "0.2"], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        line = ""
        while "serving on" not in line:
            line = engine.stdout.readline()
            assert line, "the engine process exited early"
        doomed = line.split()[2]
        with ExitStack() as stack:
            survivor = stack.enter_context(serve_in_thread(make_engine_app("survivor", SMALL, time_scale=0.2)))
            proxy = Proxy([doomed, survivor], make_policy("round_robin"), make_predictor("oracle"), refresh_s=0.05)
            url = stack.enter_context(serve_in_thread(make_proxy_app(proxy)))
            workload = load_trace("conv").head(60).at_rate(8.0)  # 7.4 model s = 1.5 s wall

            async def run():
                task = asyncio.ensure_future(replay(url, workload, time_scale=0.2))
                await asyncio.sleep(0.6)  # = 3 model seconds in
                os.killpg(engine.pid, signal.SIGKILL)
                return await task

            outcomes = asyncio.run(run())
            assert len(outcomes) == 60
            for o in outcomes:  # each request either completed in full or was told why not
                assert (not o.error and o.tokens == o.output) or o.error
            failed = [o for o in outcomes if o.error]
            assert len(failed) < 30 and all("mid-stream" in o.error or "HTTP 50" in o.error for o in failed)
            late = [o for o in outcomes if o.arrival > 4.0]
            assert late and all(not o.error for o in late), "after the kill the survivor serves everything"
            stats = proxy.stats
            assert not proxy.backends[0].healthy and proxy.backends[1].routed > 30
            assert stats.cut_streams == len(failed)
        # the proxy alone: its only backend is gone -> 503 with a message
        proxy = Proxy([doomed], make_policy("least_requests"), make_predictor("oracle"), refresh_s=0.05)
        with serve_in_thread(make_proxy_app(proxy)) as url:
            status, text = post(f"{url}/v1/completions", {"prompt": "x", "max_tokens": 2})
            assert status == 503 and "no healthy backend" in json.loads(text)["error"]["message"]
    finally:
        if engine.poll() is None:
            os.killpg(engine.pid, signal.SIGKILL)
        engine.wait(timeout=10)


@pytest.mark.timeout(120)
def test_live_path_serves_the_slice_the_simulator_runs():
    """The live path serves every request of the slice in full, and the agreement calibrates the
    simulator with the poll interval the proxy really achieved (never shorter than configured).

    How *close* live and simulated latencies are is a wall-clock claim that depends on how busy the
    machine is, so it is measured by `sysai llm-la live-compare` (a benchmark), not asserted here."""
    setup = Setup(requests=60, instances=2, load=0.9, replica=SMALL)
    result = agreement(setup, ["llm_la", "round_robin"], time_scale=0.2, poll_s=0.01)
    for policy in ("llm_la", "round_robin"):
        live, sim = result.live[policy], result.sim[policy]
        assert live["errors"] == 0 and live["completed"] == 60
        assert sum(live["routed"]) == 60 and live["stats"]["requests"] == 60
        assert result.achieved_poll_s[policy] >= 0.01, "a poll round takes at least the sleep between rounds"
        assert sum(sim["requests_per_replica"]) == sum(result.nominal_sim[policy]["requests_per_replica"]) == 60
        assert set(result.relative_error[policy]) == {"e2e_mean_s", "ttft_mean_s", "tpot_mean_s"}
    assert result.live["round_robin"]["routed"] == [30, 30], "round-robin alternates exactly, live as simulated"


def test_stale_signals_make_least_outstanding_tokens_herd_in_the_simulator():
    """The claim the live-compare benchmark then checks live: with 2 s-stale signals every router
    sends the next burst to the same 'least loaded' replica, and round-robin wins (seeded, model time)."""
    setup = Setup(requests=120, instances=2, load=0.9, replica=SMALL, refresh_s=2.0)
    workload, _, _ = build_workload(setup)
    lot, _ = run_policy(setup, workload, "least_outstanding_tokens")
    rr, _ = run_policy(setup, workload, "round_robin")
    assert lot["e2e_mean_s"] > 1.05 * rr["e2e_mean_s"]


def test_ranking_rule_and_replay_bounds():
    assert same_order({"a": 1.0, "b": 2.0}, {"a": 1.1, "b": 1.9}, 0.05)
    assert not same_order({"a": 1.0, "b": 2.0}, {"a": 2.1, "b": 1.9}, 0.05)
    assert same_order({"a": 1.0, "b": 1.02}, {"a": 1.1, "b": 1.0}, 0.05), "a 2 % gap is a tie"
    assert check_url("http://127.0.0.1:8000/", False) == "http://127.0.0.1:8000"
    with pytest.raises(UserError, match="allow-remote"):
        check_url("http://example.com", False)


@pytest.mark.timeout(60)
def test_replay_command_measures_a_live_engine(tmp_path, capsys):
    from sysai.cli import main

    with serve_in_thread(make_engine_app("solo", SMALL, time_scale=0.05)) as url:
        code = main(["llm-la", "replay", "--url", url, "--requests", "20", "--rate", "4", "--time-scale", "0.05",
                     "--out", str(tmp_path), "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["completed"] == 20 and data["errors"] == 0 and data["ttft_mean_s"] > 0
    assert data["e2e_mean_s"] > data["ttft_mean_s"] and (tmp_path / "requests.csv").exists()
    assert main(["llm-la", "replay", "--url", "http://example.com", "--out", str(tmp_path)]) == 2


def _plain_backend(status: int, metrics: str | None = None):
    """An OpenAI-ish server with no /load (like vLLM) that answers every completion with `status`."""
    from aiohttp import web

    async def scrape(request):
        return web.Response(text=metrics)

    async def complete(request):
        await asyncio.sleep(0.05)
        if status != 200:
            return web.json_response({"error": {"message": "engine exploded"}}, status=status)
        return web.json_response({"choices": [{"index": 0, "text": " hi", "finish_reason": "length"}]})

    async def health(request):
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/v1/completions", complete)
    app.router.add_get("/health", health)
    if metrics is not None:
        app.router.add_get("/metrics", scrape)
    return app


@pytest.mark.timeout(60)
def test_proxy_routes_on_vllm_metrics_in_front_of_engines_without_load():
    """Engines that expose only vLLM's Prometheus /metrics (no /load): the proxy reads load from there."""
    with ExitStack() as stack:
        engines = [stack.enter_context(serve_in_thread(make_engine_app(f"v{i}", SMALL, time_scale=0.05,
                                                                       fast_path=False))) for i in range(2)]
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{engines[0]}/load")
        text = urllib.request.urlopen(f"{engines[0]}/metrics").read().decode()
        for name in ("vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
                     "vllm:gpu_cache_usage_perc", "vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total"):
            assert f"\n{name}{{" in text, name
        learned = make_predictor("learned", options={"refit_every": 2})
        proxy = Proxy(engines, make_policy("least_requests"), learned, refresh_s=0.02)
        url = stack.enter_context(serve_in_thread(make_proxy_app(proxy)))
        prompt = " ".join(f"w{i}" for i in range(64))  # 4 full blocks of 16 words
        for _ in range(4):
            assert post(f"{url}/v1/completions", {"prompt": prompt, "max_tokens": 3})[0] == 200
        stats = json.loads(urllib.request.urlopen(f"{url}/stats").read())
        assert [b["signal"] for b in stats["backends"]] == ["metrics", "metrics"]
        assert not any(b.has_load for b in proxy.backends) and sum(b.routed for b in proxy.backends) == 4
        hits = 0
        for engine in engines:
            for family in text_string_to_metric_families(urllib.request.urlopen(f"{engine}/metrics").read().decode()):
                hits += sum(s.value for s in family.samples if s.name == "vllm:prefix_cache_hits_total")
        assert len(learned.seen) == 4 and learned.predict(Request(9, 0.0, 64, 1)) == 3, "it learned from replies"
        repeats = sum(b.routed - 1 for b in proxy.backends if b.routed)
        assert hits == repeats * 48, "each repeat reuses 3 of its 4 blocks (the last token is recomputed)"


def test_parse_vllm_metrics_reads_both_kv_names_and_rejects_garbage():
    from llm_la_lab.live.proxy import parse_vllm_metrics

    v1 = ('vllm:num_requests_running{model_name="m"} 3.0\nvllm:num_requests_waiting{model_name="m"} 2.0\n'
          'vllm:kv_cache_usage_perc{model_name="m"} 0.25\n')
    assert parse_vllm_metrics(v1) == (3, 2, 0.25)
    assert parse_vllm_metrics(v1.replace("kv_cache_usage_perc", "gpu_cache_usage_perc")) == (3, 2, 0.25)
    for bad in ("<html>oops</html>", "vllm:num_requests_running 1\n", ""):
        with pytest.raises(ValueError):
            parse_vllm_metrics(bad)


@pytest.mark.timeout(60)
def test_unparsable_metrics_are_logged_once_and_the_proxy_keeps_serving(caplog):
    with ExitStack() as stack:
        odd = stack.enter_context(serve_in_thread(_plain_backend(200, metrics="{{{ not prometheus")))
        proxy = Proxy([odd], make_policy("least_requests"), make_predictor("oracle"), refresh_s=0.02)
        url = stack.enter_context(serve_in_thread(make_proxy_app(proxy)))
        with caplog.at_level("WARNING", logger="llm_la_lab.proxy"):
            for _ in range(3):
                assert post(f"{url}/v1/completions", {"prompt": "x", "max_tokens": 1})[0] == 200
                time.sleep(0.05)  # several polls
        warnings = [r for r in caplog.records if "cannot use its /metrics" in r.getMessage()]
        assert len(warnings) == 1 and proxy.backends[0].source == "own books" and proxy.backends[0].healthy


@pytest.mark.timeout(60)
def test_proxy_without_load_endpoint_and_with_an_erroring_backend():
    with ExitStack() as stack:
        good = stack.enter_context(serve_in_thread(_plain_backend(200)))
        bad = stack.enter_context(serve_in_thread(_plain_backend(500)))
        proxy = Proxy([bad, good], make_policy("least_outstanding_tokens"), make_predictor("oracle"), refresh_s=0.05)
        url = stack.enter_context(serve_in_thread(make_proxy_app(proxy)))
        status, text = post(f"{url}/v1/completions", {"prompt": "x", "max_tokens": 1})
        assert status == 200 and json.loads(text)["choices"][0]["text"] == " hi"
        assert proxy.stats.retries == 1 and proxy.backends[0].failures == 1, "5xx: marked down, retried elsewhere"
        assert not proxy.backends[0].has_load and not proxy.backends[1].has_load
        signal = proxy.backends[1].signal(0.0)  # built from the proxy's own books
        assert signal.requests == 0 and signal.kv_util == 0.0
    with ExitStack() as stack:
        bad = stack.enter_context(serve_in_thread(_plain_backend(503)))
        proxy = Proxy([bad], make_policy("round_robin"), make_predictor("oracle"), refresh_s=0.05)
        url = stack.enter_context(serve_in_thread(make_proxy_app(proxy)))
        status, text = post(f"{url}/v1/completions", {"prompt": "x", "max_tokens": 1})
        assert status == 503 and "tried" in json.loads(text)["error"]["message"]


@pytest.mark.timeout(60)
def test_an_engine_told_to_fail_its_next_requests_shows_one_retry_each():
    """The sheet's way to see a retry for sure: POST /faults {"fail_next": 3} on one engine."""
    with ExitStack() as stack:
        flaky = stack.enter_context(serve_in_thread(make_engine_app("flaky", SMALL, time_scale=0.05)))
        good = stack.enter_context(serve_in_thread(make_engine_app("good", SMALL, time_scale=0.05)))
        assert post(f"{flaky}/faults", {"fail_next": -1})[0] == 400
        assert post(f"{flaky}/faults", {"fail_next": 3}) == (200, json.dumps({"fail_next": 3}))
        proxy = Proxy([flaky, good], make_policy("round_robin"), make_predictor("oracle"), refresh_s=0.02)
        url = stack.enter_context(serve_in_thread(make_proxy_app(proxy)))
        for _ in range(12):
            assert post(f"{url}/v1/completions", {"prompt": "a b", "max_tokens": 2})[0] == 200
            while not proxy.backends[0].healthy:  # its next poll brings it back, as after a real blip
                time.sleep(0.01)
        assert proxy.stats.retries == 3 and proxy.backends[0].failures == 3 and proxy.stats.failed_502 == 0


class _Broken(Policy):
    def choose(self, request, loads):
        if request.prompt > 1:
            raise ZeroDivisionError("oops")
        return None  # never room: the request waits in the central queue


@pytest.mark.timeout(60)
def test_a_broken_policy_fails_its_request_not_the_proxy():
    with ExitStack() as stack:
        good = stack.enter_context(serve_in_thread(_plain_backend(200)))
        proxy = Proxy([good], _Broken(), make_predictor("oracle"), refresh_s=0.05, queue_timeout_s=0.3)
        url = stack.enter_context(serve_in_thread(make_proxy_app(proxy)))
        status, text = post(f"{url}/v1/completions", {"prompt": "two words", "max_tokens": 1})
        assert status == 500 and "ZeroDivisionError: oops" in json.loads(text)["error"]["message"]
        status, text = post(f"{url}/v1/completions", {"prompt": "one", "max_tokens": 1})
        assert status == 503 and "waited 0.3 s" in json.loads(text)["error"]["message"]
        time.sleep(0.2)
        assert not proxy.poller.done(), "the load poller survives a broken policy"
        assert proxy.stats.policy_errors == 1 and proxy.stats.rejected_503 == 1


@pytest.mark.timeout(60)
def test_prefix_aware_proxy_hashes_prompts_and_sends_repeats_where_their_blocks_are():
    """The proxy's backends report no cache: prefix_affinity routes on its own index of hashed prompt blocks."""
    with ExitStack() as stack:
        engines = [stack.enter_context(serve_in_thread(make_engine_app(f"p{i}", SMALL, time_scale=0.05)))
                   for i in range(3)]
        proxy = Proxy(engines, make_policy("prefix_affinity"), make_predictor("oracle"), refresh_s=0.02)
        url = stack.enter_context(serve_in_thread(make_proxy_app(proxy)))
        prompts = {name: " ".join(f"{name}{i}" for i in range(64)) for name in ("a", "b", "c")}
        for name in ("a", "b", "c", "a", "b", "c", "a"):
            assert post(f"{url}/v1/completions", {"prompt": prompts[name], "max_tokens": 2})[0] == 200
        assert [b.routed for b in proxy.backends] == [3, 2, 2], "each prompt's repeats follow its first request"
        loads = [json.loads(urllib.request.urlopen(f"{e}/load").read()) for e in engines]
        assert all(load["prefix_hit_rate"] > 0 for load in loads), "and hit the engines' prefix caches"
