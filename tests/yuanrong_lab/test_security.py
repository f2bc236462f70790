"""The gateway refuses what a web page, a DNS-rebinding page or a stranger on the network sends.

Every refusal happens before Ray is touched, so these run against a runtime without a cluster."""

import json
import urllib.error
import urllib.request

import pytest

from sysai.cli import main
from sysai.http import serve_in_thread
from yuanrong_lab.allowlist import Allowlist, Malformed, Refused, demo_functions
from yuanrong_lab.runtime.core import Runtime
from yuanrong_lab.runtime.worker import FileTarget

pytestmark = pytest.mark.timeout(60)

ATTACK = {"name": "pwn2", "target": "subprocess:getoutput"}


@pytest.fixture
def gateway(tmp_path):
    from yuanrong_lab.gateway import make_app

    (tmp_path / "mine.py").write_text("import os\n\ndef double(x):\n    return 2 * x\n\nclass Model:\n    pass\n")
    runtime = Runtime()
    try:
        with serve_in_thread(make_app(runtime, allowlist=Allowlist.with_dirs([tmp_path]))) as url:
            yield url, runtime
    finally:
        runtime.shutdown()


def _send(url, method="POST", body=None, content_type="application/json", **headers):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={**headers})
    if content_type is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_reported_attack_is_refused_at_every_step(gateway):
    url, runtime = gateway
    status, body = _send(f"{url}/functions", body=ATTACK, content_type="text/plain", Origin="http://evil.example")
    assert status == 403 and "cross-origin" in body["error"]
    # what curl -d sends without a content type, and the same attack from a same-origin JSON client
    status, body = _send(
        f"{url}/functions/pwn2/invocations", body="id", content_type="application/x-www-form-urlencoded"
    )
    assert status == 415
    status, body = _send(f"{url}/functions", body=ATTACK)
    assert status == 403 and "not allow-listed" in body["error"]
    assert _send(f"{url}/functions", body={"name": "pwn3", "target": "os:system"})[0] == 403
    assert "pwn2" not in runtime.functions and "pwn3" not in runtime.functions
    assert _send(f"{url}/functions/pwn2/invocations", body="id")[0] == 404


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None]
)
def test_writes_need_json_content_type(gateway, content_type):
    url, runtime = gateway
    status, body = _send(
        f"{url}/functions", body={"name": "e", "target": "yuanrong_lab.functions:echo"}, content_type=content_type
    )
    assert status == 415 and "application/json" in body["error"] and "e" not in runtime.functions


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1", "file://"])
def test_cross_origin_writes_are_refused(gateway, origin):
    url, runtime = gateway
    status, body = _send(f"{url}/functions", body={"name": "e", "target": "yuanrong_lab.functions:echo"}, Origin=origin)
    assert status == 403 and "cross-origin" in body["error"]
    assert _send(f"{url}/functions/e", method="DELETE", content_type=None, Origin=origin)[0] == 403


def test_same_origin_and_originless_writes_pass(gateway):
    url, runtime = gateway
    status, _ = _send(f"{url}/functions", body={"name": "e1", "target": "yuanrong_lab.functions:echo"}, Origin=url)
    assert status == 201
    assert _send(f"{url}/functions", body={"name": "e2", "target": "yuanrong_lab.functions:sleep"})[0] == 201
    assert {"e1", "e2"} <= set(runtime.functions)


def test_a_dns_rebinding_host_is_refused(gateway):
    url, runtime = gateway
    status, body = _send(f"{url}/functions", method="GET", content_type=None, Host="evil.example:8000")
    assert status == 403 and "not loopback" in body["error"]
    assert _send(f"{url}/functions", method="GET", content_type=None, Host="localhost:8000")[0] == 200


@pytest.mark.parametrize(
    "target",
    [
        "yuanrong_lab.functions:np",
        "yuanrong_lab.functions:time",
        "yuanrong_lab.functions:_private",
        "mine:os",
        "mine:nothing",
        "yuanrong_lab.cli:app",
        "pickle:loads",
        "builtins:eval",
    ],
)
def test_only_allow_listed_code_registers(gateway, target):
    url, runtime = gateway
    status, body = _send(f"{url}/functions", body={"name": "x", "target": target})
    assert status == 403 and body["error"] and "x" not in runtime.functions


@pytest.mark.parametrize("target", ["subprocess", "a:b:c", "../etc:x", "a/b:c", 7])
def test_malformed_targets_are_400(gateway, target):
    url, _ = gateway
    assert _send(f"{url}/functions", body={"name": "x", "target": target})[0] == 400


def test_functions_dir_modules_register_as_file_targets(gateway, tmp_path):
    url, runtime = gateway
    status, body = _send(f"{url}/functions", body={"name": "dbl", "target": "mine:double"})
    assert status == 201 and body["target"].startswith("mine:double (")
    assert runtime.functions["dbl"].target == FileTarget(str((tmp_path / "mine.py").resolve()), "mine", "double")


def test_a_symlink_out_of_the_functions_dir_is_refused(tmp_path):
    inside, outside = tmp_path / "fns", tmp_path / "elsewhere"
    inside.mkdir(), outside.mkdir()
    (outside / "evil.py").write_text("def run(x):\n    return x\n")
    (inside / "evil.py").symlink_to(outside / "evil.py")
    with pytest.raises(Refused):
        Allowlist.with_dirs([inside]).resolve("evil:run")


def test_installed_entry_points_are_allowed(monkeypatch):
    import yuanrong_lab.allowlist as allowlist

    monkeypatch.setattr(allowlist, "entry_point_targets", lambda: {"mypkg.handlers:resize"})
    assert Allowlist().resolve("mypkg.handlers:resize") == "mypkg.handlers:resize"
    with pytest.raises(Refused):
        Allowlist().resolve("mypkg.handlers:other")
    with pytest.raises(Malformed):
        Allowlist().resolve("mypkg.handlers")


def test_demo_functions_are_what_the_module_defines():
    names = {t.split(":")[1] for t in demo_functions()}
    assert {"echo", "sleep", "fail", "Classifier", "Counter"} <= names and not names & {"np", "time", "Any"}


def test_a_token_gateway_needs_the_bearer_header(tmp_path):
    from yuanrong_lab.gateway import make_app

    runtime = Runtime()
    try:
        with serve_in_thread(make_app(runtime, token="s3cret-token-0123456789")) as url:
            assert _send(f"{url}/functions", method="GET", content_type=None)[0] == 401
            assert _send(f"{url}/functions", method="GET", content_type=None, Authorization="Bearer wrong")[0] == 401
            status, _ = _send(
                f"{url}/functions",
                method="GET",
                content_type=None,
                Authorization="Bearer s3cret-token-0123456789",
                Host="gateway.lan:8000",
            )
            assert status == 200
    finally:
        runtime.shutdown()


def test_serve_refuses_a_network_host_without_a_token(capsys, monkeypatch):
    monkeypatch.delenv("SYSAI_YUANRONG_TOKEN", raising=False)
    assert main(["yuanrong", "serve", "--host", "0.0.0.0"]) == 2  # refused before Ray starts
    assert "--host 0.0.0.0 would let anyone on the network run functions: give --token" in capsys.readouterr().err
    assert main(["yuanrong", "serve", "--host", "0.0.0.0", "--token", "short"]) == 2
    assert "at least 16 characters" in capsys.readouterr().err
    assert main(["yuanrong", "serve", "--host", "my laptop"]) == 2
    assert "--host must be an IP address" in capsys.readouterr().err
    assert main(["yuanrong", "serve", "--functions", "/no/such/dir"]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_the_invoke_command_sends_its_token(capsys, monkeypatch):
    from yuanrong_lab.gateway import make_app

    monkeypatch.delenv("SYSAI_YUANRONG_TOKEN", raising=False)
    runtime = Runtime()
    try:
        with serve_in_thread(make_app(runtime, token="s3cret-token-0123456789")) as url:
            assert main(["yuanrong", "invoke", "nope", "--url", url]) == 2
            assert "HTTP 401" in capsys.readouterr().err
            assert main(["yuanrong", "invoke", "nope", "--url", url, "--token", "s3cret-token-0123456789"]) == 2
            assert "HTTP 404: unknown function 'nope'" in capsys.readouterr().err  # past the token check
    finally:
        runtime.shutdown()
