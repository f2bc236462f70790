"""`sysai yuanrong serve` as a user runs it: a separate process with its own Ray, driven over HTTP,
stopped with Ctrl-C (SIGINT) — it must exit 0 promptly and leave none of its Ray processes behind."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.yuanrong_lab.promtext import parse

pytestmark = [pytest.mark.ray, pytest.mark.timeout(150)]


def _http(url, method="GET", body=None, raw=None, **headers):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            payload = resp.read().decode()
            return resp.status, (json.loads(payload) if "json" in resp.headers.get("Content-Type", "") else payload)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def server(tmp_path):
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    fns = tmp_path / "fns"
    fns.mkdir()
    (fns / "mine.py").write_text("from helper import K\n\ndef scale(x):\n    return K * x\n")
    (fns / "helper.py").write_text("K = 3\n")
    plugin = tmp_path / "ten_seconds.py"
    plugin.write_text(
        "from yuanrong_lab.keepalive.base import POLICIES, KeepAlivePolicy, Windows\n\n"
        "@POLICIES.register('ten-seconds')\n"
        "class TenSeconds(KeepAlivePolicy):\n"
        "    def on_invocation(self, now):\n"
        "        return Windows(0.0, 10.0)\n"
    )
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sysai",
                "yuanrong",
                "serve",
                "--port",
                "0",
                "--cpus",
                "2",
                "--functions",
                str(fns),
                "--plugin",
                str(plugin),
            ],
            stdout=stdout,
            stderr=stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.time() + 90
        while "serving on" not in out.read_text():
            assert proc.poll() is None and time.time() < deadline, f"serve did not start: {err.read_text()[-800:]}"
            time.sleep(0.2)
        url = out.read_text().split("serving on ", 1)[1].split()[0]
        yield proc, url, out, err
    finally:
        if proc.poll() is None:  # the test failed before its own Ctrl-C
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_serve_answers_over_http_and_ctrl_c_stops_ray_and_the_gateway(server, capsys):
    from sysai.cli import main

    proc, url, out, err = server
    assert url.startswith("http://127.0.0.1:")
    # issue 11's attack, as a web page sends it: refused, nothing registered, nothing run
    attack = json.dumps({"name": "pwn2", "target": "subprocess:getoutput"}).encode()
    status, body = _http(
        f"{url}/functions", "POST", raw=attack, **{"Content-Type": "text/plain", "Origin": "http://evil.example"}
    )
    assert status == 403 and "cross-origin" in body["error"]
    assert _http(f"{url}/functions", "POST", raw=attack, **{"Content-Type": "text/plain"})[0] == 415
    assert _http(f"{url}/functions", "POST", raw=attack)[0] == 403  # JSON, same origin: not allow-listed
    status, body = _http(
        f"{url}/functions/pwn2/invocations",
        "POST",
        raw=b'"id"',
        **{"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 415
    assert _http(f"{url}/functions/pwn2/invocations", "POST", raw=b'"id"')[0] == 404
    # a module of the user's own --functions folder runs on a real instance, importing its sibling
    assert _http(f"{url}/functions", "POST", {"name": "scale", "target": "mine:scale"})[0] == 201
    status, body = _http(f"{url}/functions/scale/invocations", "POST", 7)
    assert status == 200 and body["result"] == 21
    # a keep-alive policy from `serve --plugin FILE`, named in a function's config
    config = {"keepalive": {"policy": "ten-seconds"}}
    assert (
        _http(f"{url}/functions", "POST", {"name": "e10", "target": "yuanrong_lab.functions:echo", "config": config})[0]
        == 201
    )
    assert _http(f"{url}/functions/e10/invocations", "POST", 1)[0] == 200
    bad = {"keepalive": {"policy": "no-such-policy"}}
    status, body = _http(
        f"{url}/functions", "POST", {"name": "e11", "target": "yuanrong_lab.functions:echo", "config": bad}
    )
    assert status == 400 and "unknown keep-alive policy" in body["error"]
    status, body = _http(f"{url}/functions")
    assert status == 200 and {"echo", "sleep", "fail", "classify"} <= {f["name"] for f in body["functions"]}
    assert "pwn2" not in {f["name"] for f in body["functions"]}
    status, body = _http(f"{url}/functions", "POST", {"name": "sq", "target": "yuanrong_lab.functions:echo"})
    assert status == 201
    status, body = _http(f"{url}/functions/sq/invocations", "POST", {"n": 3})
    assert status == 200 and body == {**body, "result": {"n": 3}, "cold_start": True}
    assert main(["yuanrong", "invoke", "sq", "--url", url, "--data", "[1, 2]", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)  # the whole stdout is the answer
    assert answer["result"] == [1, 2] and answer["cold_start"] is False

    # a function that kills its own process: retried once, then 503; the gateway lives on
    assert _http(f"{url}/functions", "POST", {"name": "boom", "target": "yuanrong_lab.functions:crash"})[0] == 201
    status, body = _http(f"{url}/functions/boom/invocations", "POST", {})
    assert status == 503 and "lost" in body["error"]
    status, text = _http(f"{url}/metrics")
    families = parse(text)
    errors = {s[1]["function"]: s[2] for s in families["yuanrong_errors_total"]["samples"]}
    assert errors["boom"] == 2 and families["yuanrong_cold_starts_total"]["samples"]
    assert _http(f"{url}/functions/sq", "DELETE")[0] == 200

    deadline = time.time() + 20
    while "(raylet)" not in err.read_text() and time.time() < deadline:
        time.sleep(0.2)  # Ray's notice about the dead worker comes from a background thread
    assert "(raylet)" in err.read_text()

    ray_processes = _descendants(proc.pid)
    assert any("raylet" in Path(f"/proc/{p}/cmdline").read_text() for p in ray_processes if _alive(p))
    started = time.time()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    stopped_in = time.time() - started
    deadline = time.time() + 15
    while any(_alive(p) for p in ray_processes) and time.time() < deadline:
        time.sleep(0.2)
    assert [p for p in ray_processes if _alive(p)] == []
    assert stopped_in < 20
    # stdout carries only the server's own two lines: Ray's notices went to stderr
    assert out.read_text().splitlines() == [f"serving on {url} (Ctrl-C to stop)", "stopped"]


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_bench_quick_measures_every_comparison(tmp_path, capsys):
    """`sysai yuanrong bench --quick`: every comparison present, side by side from one run."""
    from sysai.cli import main

    assert main(["yuanrong", "bench", "--quick", "--json", "--out", str(tmp_path)]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["warm_invoke_ms_p50"] > 0 and r["raw_ray_actor_call_ms_p50"] > 0
    assert {"yuanrong_warm_p50", "yuanrong_cold_p50", "classic_warm_p50", "classic_cold_p50"} == set(r["http_calls_ms"])
    assert {c["payload_mb"] for c in r["chain_sizes"]} == {0.001, 1.0, 10.0}
    assert all(c["classic_faas_s"] > 0 and c["by_reference_s"] > 0 for c in r["chain_sizes"])
    for run in ("from zero", "warm"):
        assert r["gateway"][run]["non_2xx"] == 0 and r["gateway"][run]["rps"] > 0, r["gateway"]
    assert r["gateway"]["from zero"]["instances"] > 1, r["gateway"]  # the autoscaler scaled out under the load
    p = r["placement"]
    assert p["two-level local_choices"] + p["two-level global_choices"] == 12, p  # 3 chains x 4 stages
    assert p["two-level cross_node_mb"] <= p["node-blind cross_node_mb"], p
    assert (tmp_path / "chain.csv").exists()
