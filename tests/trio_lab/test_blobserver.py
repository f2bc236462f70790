"""The aiohttp registry and its client: Range, counters, link emulation, faults, bounded retries."""

from __future__ import annotations

import time

import pytest

from sysai.http import serve_in_thread
from trio_lab.fetch import BlobClient, FetchError
from trio_lab.blobserver import PIECE, make_app
from trio_lab.store import BlobStore, Manifest

pytestmark = pytest.mark.timeout(60)


def test_whole_blob_range_and_counters(store, registry):
    manifest = Manifest.load(store)
    client = BlobClient(registry)
    client.reset()
    layer = client.blob(manifest.layers[0].digest)
    assert len(layer) == manifest.layers[0].size
    assert client.blob(manifest.layers[0].digest, 512, 100, expect=None) == layer[512:612]
    stats = client.stats()
    assert stats == {"requests": 2, "bytes": len(layer) + 100, "range_requests": 1}


@pytest.mark.parametrize("path, headers, status", [
    ("/blobs/sha256:" + "0" * 64, {}, 404),
    ("/blobs/md5:abc", {}, 400),
    ("/blobs/sha256:" + "0" * 63 + "g", {}, 400),
])
def test_bad_requests_get_a_4xx_with_a_message(registry, path, headers, status):
    code, body = BlobClient(registry).request("GET", path, headers)
    assert code == status and body.strip()


def test_unsatisfiable_or_malformed_ranges_are_416(store, registry):
    digest = Manifest.load(store).layers[0].digest
    client = BlobClient(registry)
    assert client.request("GET", f"/blobs/{digest}", {"Range": "bytes=99999999-"})[0] == 416
    assert client.request("GET", f"/blobs/{digest}", {"Range": "items=1-2"})[0] == 416
    assert client.request("POST", "/faults", {}, b"not json")[0] == 400
    assert client.request("POST", "/faults", {}, b'{"down": "yes"}')[0] == 400


def test_link_emulation_delays_by_rtt_and_bandwidth(tmp_path):
    blobs = BlobStore(tmp_path)
    digest = blobs.put(b"\1" * 1_000_000)
    with serve_in_thread(make_app(tmp_path, rtt_ms=50, bandwidth_mbps=80)) as url:
        client = BlobClient(url)
        started = time.perf_counter()
        client.blob(digest)
        # 1 MB at 80 Mbit/s, less the free initial burst, plus one 50 ms round trip: a lower bound
        wire = (1_000_000 - 4 * PIECE) * 8 / 80e6
        assert time.perf_counter() - started >= 0.05 + wire * 0.95


def test_corrupt_bytes_are_never_returned(store, registry, caplog):
    digest = Manifest.load(store).layers[0].digest
    client = BlobClient(registry, retries=1)
    client.faults(corrupt=True)
    with pytest.raises(FetchError, match=f"digest mismatch, expected {digest}, got sha256:") as info:
        client.blob(digest)
    assert str(info.value).count(digest) == 2  # the GET and what it expected; what came is the other digest
    assert "digest mismatch" in caplog.text


def test_registry_down_fails_after_bounded_retries(store, registry):
    digest = Manifest.load(store).layers[0].digest
    client = BlobClient(registry, retries=2, backoff_s=0.01)
    client.faults(down=True)
    with pytest.raises(FetchError, match="after 3 attempts"):
        client.blob(digest)
    assert client.stats()["requests"] == 3


def test_registry_gone_fails_fast(store):
    with serve_in_thread(make_app(store)) as url:
        pass
    started = time.perf_counter()
    with pytest.raises(FetchError):
        BlobClient(url, retries=2, backoff_s=0.01, timeout_s=2).blob(Manifest.load(store).layers[0].digest)
    assert time.perf_counter() - started < 10  # bounded: never hangs


def test_bad_link_parameters_are_user_errors(store):
    from sysai.errors import UserError

    with pytest.raises(UserError, match="bandwidth"):
        make_app(store, rtt_ms=-1)


def test_the_manifest_is_served_by_name_and_by_digest_and_verified(store, registry, caplog):
    from trio_lab.store import manifest_digest

    client = BlobClient(registry, retries=0)
    digest = manifest_digest(store)
    raw, by_name = client.manifest("test")
    assert by_name == digest and Manifest.parse(raw) == Manifest.load(store)
    assert client.manifest(digest) == (raw, digest)
    with pytest.raises(FetchError, match="HTTP 404"):
        client.manifest("sha256:" + "0" * 64)
    client.faults(corrupt=True)
    for ref in ("test", digest):  # by name the announced digest catches it, by digest the name does
        with pytest.raises(FetchError, match="digest mismatch"):
            client.manifest(ref)
    assert "digest mismatch for manifest" in caplog.text


def test_a_client_gone_mid_body_is_not_an_error_and_the_server_keeps_serving(tmp_path, caplog):
    """A mount daemon that exits while its blob or index is still streaming closes the socket."""
    import logging
    import socket
    import urllib.parse

    blobs = BlobStore(tmp_path)
    digest = blobs.put(b"\2" * 2_000_000)
    caplog.set_level(logging.DEBUG)
    with serve_in_thread(make_app(tmp_path, bandwidth_mbps=8)) as url:  # 2 MB ≈ 2 s: still sending when we leave
        where = urllib.parse.urlsplit(url)
        with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
            sock.sendall(f"GET /blobs/{digest} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        time.sleep(0.5)  # the server's next writes hit the closed socket
        assert BlobClient(url).stats()["requests"] == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
