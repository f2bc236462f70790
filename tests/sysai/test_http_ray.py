import json
import socket
import urllib.request

import pytest
from aiohttp import web

from sysai.errors import UserError
from sysai.http import serve_in_thread


def _app() -> web.Application:
    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"hello": request.match_info["name"]})

    app = web.Application()
    app.router.add_get("/hello/{name}", hello)
    return app


def test_serve_in_thread_serves_on_loopback_and_stops():
    with serve_in_thread(_app()) as url:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/hello/ray", timeout=5) as resp:
            assert json.loads(resp.read()) == {"hello": "ray"}
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "server still listening after the block"


def test_port_in_use_is_a_user_error():
    with serve_in_thread(_app()) as url:
        port = int(url.rsplit(":", 1)[1])
        with pytest.raises(UserError, match="cannot listen"):
            with serve_in_thread(_app(), port=port):
                pass


@pytest.mark.ray
@pytest.mark.timeout(120)
def test_ray_cluster_starts_on_loopback_and_shuts_down():
    import ray

    from sysai.raycluster import ray_cluster

    with ray_cluster(num_cpus=1) as r:
        assert r.get(r.remote(lambda: 41 + 1).remote()) == 42
        assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}
    assert not ray.is_initialized()
    with pytest.raises(RuntimeError):
        with ray_cluster(num_cpus=1):
            raise RuntimeError("boom")
    assert not ray.is_initialized()


def test_a_run_stopped_by_an_error_shuts_ray_down_without_native_noise(monkeypatch, capfd):
    """Ray's C++ core logs straight to fd 2 when tasks still fail during shutdown ("Failed to push
    error to driver"); after an error, that must not land beside the one line the user reads."""
    import os

    import ray

    from sysai.raycluster import ray_cluster

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda **kwargs: None)
    monkeypatch.setattr(ray, "shutdown", lambda: os.write(2, b"task_manager.cc: Failed to push error to driver\n"))
    with ray_cluster(num_cpus=1):
        pass
    assert "Failed to push" in capfd.readouterr().err, "a clean exit leaves Ray's output alone"
    with pytest.raises(RuntimeError):
        with ray_cluster(num_cpus=1):
            raise RuntimeError("boom")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n", "fd 2 is silenced during shutdown only"
