"""In a handout, graded tasks are stubs raising TaskNotDone: the runtime's background thread and the
gateway turn that into one line (stderr) or a 501 with the pointer, never a traceback (Ray-free)."""

import json
import time
import urllib.error
import urllib.request

import pytest

from sysai.cli import main
from sysai.errors import TaskNotDone
from sysai.http import serve_in_thread
from yuanrong_lab.runtime.core import Runtime

pytestmark = pytest.mark.timeout(60)


def test_the_ticker_survives_a_stubbed_autoscaler_with_one_line(capsys):
    runtime = Runtime(tick_s=0.02)
    try:
        def stub(*args, **kwargs):
            raise TaskNotDone("3.3")

        for name in ("f", "g"):  # two functions meeting the same stub: still one line
            runtime.register(name, "yuanrong_lab.functions:echo").autoscaler.decide = stub
        time.sleep(0.3)  # many ticks
        assert runtime._ticker.is_alive()
    finally:
        runtime.shutdown()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "this needs Task 3.3" in err and "Traceback" not in err


def test_the_gateway_answers_501_with_the_pointer_when_a_call_needs_a_task(monkeypatch, capsys):
    from yuanrong_lab.gateway import make_app
    from yuanrong_lab.keepalive.fixed import FixedKeepAlive

    def stub(self, now):
        raise TaskNotDone("3.1")

    monkeypatch.setattr(FixedKeepAlive, "on_invocation", stub)
    runtime = Runtime()
    try:
        runtime.register("f", "yuanrong_lab.functions:echo")
        with serve_in_thread(make_app(runtime)) as url:
            req = urllib.request.Request(
                f"{url}/functions/f/invocations", data=b"1", method="POST", headers={"Content-Type": "application/json"}
            )
            with pytest.raises(urllib.error.HTTPError) as info:
                urllib.request.urlopen(req, timeout=30)
            assert info.value.code == 501
            body = info.value.read().decode()
            assert "this needs Task 3.1 (labs/yuanrong.md §1) — run" in body, "as written, not \\u-escaped (curl)"
            assert "this needs Task 3.1" in json.loads(body)["error"]
            capsys.readouterr()
            assert main(["yuanrong", "invoke", "f", "--url", url, "--data", "1"]) == 2  # and the client: the pointer
            assert capsys.readouterr().err.strip() == "error: " + str(TaskNotDone("3.1"))
    finally:
        runtime.shutdown()
