"""The blob registry: a real aiohttp server on 127.0.0.1 with an emulated WAN link.

``GET /manifests/<name or sha256:digest>`` serves the image manifest (``image.json``) with its
digest in ``Docker-Content-Digest``; ``GET /blobs/sha256:<hex>`` serves a blob (whole, or one
``Range: bytes=a-b``); ``HEAD`` gives its size. Every request pays one round trip (``rtt_ms``)
before its first byte, and all bodies
share one token bucket of ``bandwidth`` bytes/s (the link), as a registry behind a WAN would.
``GET /stats`` returns request and byte counters; ``POST /stats/reset`` zeroes them;
``POST /faults`` (JSON ``{"down": bool, "corrupt": bool}``) makes it answer 503 or flip a byte,
for the reliability tests. Bad requests get a 4xx with a message; the server never crashes.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import asdict, dataclass

from aiohttp import web

from sysai.errors import UserError
from trio_lab.model import sha256
from trio_lab.store import MANIFEST, BlobStore

PIECE = 64 * 1024
RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


@dataclass
class Counters:
    requests: int = 0
    bytes: int = 0
    range_requests: int = 0


class _Union:
    """Blob lookup over several stores: the first that holds the digest."""

    def __init__(self, stores: list[BlobStore]):
        self.stores = stores

    def path(self, digest: str):
        paths = [one.path(digest) for one in self.stores]  # each validates the digest's form
        return next((p for p in paths if p.is_file()), paths[0])


class TokenBucket:
    """`rate` bytes/s shared by all responses (one link); None = unlimited.

    Paced by a virtual clock rather than by polling a token count: each piece is due at
    ``finish = max(finish, now - burst/rate) + n/rate``, so a late wake-up of the event loop is
    made up by the next pieces (up to one burst) instead of silently lowering the rate.
    """

    def __init__(self, rate: float | None, burst: int = 4 * PIECE):
        self.rate = rate
        self.slack = 0.0 if rate is None else burst / rate
        self.finish = time.monotonic()

    async def take(self, n: int) -> None:
        if self.rate is None:
            return
        now = time.monotonic()
        self.finish = max(self.finish, now - self.slack) + n / self.rate
        if self.finish > now:
            await asyncio.sleep(self.finish - now)


def make_app(store_dir, rtt_ms: float = 0.0, bandwidth_mbps: float | None = None) -> web.Application:
    """`store_dir` is one image folder, or a list of them: one registry serving several images
    (blobs are content-addressed, so images that share layers or chunks share those blobs)."""
    if rtt_ms < 0 or (bandwidth_mbps is not None and bandwidth_mbps <= 0):
        raise UserError(f"--rtt-ms must be ≥ 0 and --bandwidth-mbps > 0 (got {rtt_ms}, {bandwidth_mbps})")
    stores = [BlobStore(d) for d in (store_dir if isinstance(store_dir, (list, tuple)) else [store_dir])]
    store = _Union(stores)
    counters = Counters()
    faults = {"down": False, "corrupt": False}
    bucket = TokenBucket(None if bandwidth_mbps is None else bandwidth_mbps * 1e6 / 8)
    app = web.Application()

    async def blob(request: web.Request) -> web.StreamResponse:
        counters.requests += 1
        await asyncio.sleep(rtt_ms / 1e3)
        if faults["down"]:
            return web.Response(status=503, text="registry is down (fault injected)\n")
        try:
            path = store.path(request.match_info["digest"])
        except UserError as exc:
            return web.Response(status=400, text=f"{exc}\n")
        if not path.is_file():
            return web.Response(status=404, text=f"no blob {request.match_info['digest']}\n")
        size = path.stat().st_size
        start, end, status = 0, size, 200
        header = request.headers.get("Range")
        if header is not None:
            match = RANGE.match(header.strip())
            if match is None:
                return web.Response(status=416, text=f"unsupported Range {header!r}: use bytes=a-b\n")
            start = int(match[1])
            end = min(int(match[2]) + 1 if match[2] else size, size)
            if start >= size or end <= start:
                return web.Response(status=416, text=f"Range {header!r} outside a blob of {size} bytes\n")
            status = 206
            counters.range_requests += 1
        if request.method == "HEAD":
            return web.Response(status=200, headers={"Content-Length": str(size)})
        response = web.StreamResponse(status=status)
        response.content_length = end - start
        response.content_type = "application/octet-stream"
        if status == 206:
            response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        await response.prepare(request)
        with open(path, "rb") as fh:
            fh.seek(start)
            remaining = end - start
            first = True
            while remaining:
                piece = fh.read(min(PIECE, remaining))
                if not piece:  # the file shrank under us: end the body short, never spin (the client sees it)
                    break
                if first and faults["corrupt"]:
                    piece = bytes([piece[0] ^ 0xFF]) + piece[1:]
                first = False
                await bucket.take(len(piece))
                try:
                    await response.write(piece)
                except ConnectionResetError:  # the client went away mid-body (a daemon that exited): not an error
                    return response
                counters.bytes += len(piece)
                remaining -= len(piece)
        await response.write_eof()
        return response

    async def manifest(request: web.Request) -> web.Response:
        counters.requests += 1
        await asyncio.sleep(rtt_ms / 1e3)
        if faults["down"]:
            return web.Response(status=503, text="registry is down (fault injected)\n")
        ref = request.match_info["ref"]
        served = []
        for one in stores:
            try:
                data = (one.root / MANIFEST).read_bytes()
                name = json.loads(data)["name"]
            except (OSError, ValueError, KeyError):
                continue
            digest = sha256(data)
            served.append(f"{name!r} ({digest})")
            if ref in (name, digest) or (ref == "latest" and len(stores) == 1):
                break
        else:
            if not served:
                return web.Response(status=404, text="this registry holds no image manifest\n")
            return web.Response(status=404, text=f"no manifest {ref!r} (this registry serves {', '.join(served)})\n")
        if faults["corrupt"]:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        await bucket.take(len(data))
        counters.bytes += len(data)
        return web.Response(body=data, content_type="application/json", headers={"Docker-Content-Digest": digest})

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(asdict(counters))

    async def reset(request: web.Request) -> web.Response:
        counters.requests = counters.bytes = counters.range_requests = 0
        return web.json_response(asdict(counters))

    async def set_faults(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="expected a JSON object like {\"down\": true}\n")
        if not isinstance(body, dict) or set(body) - set(faults) or not all(isinstance(v, bool) for v in body.values()):
            return web.Response(status=400, text=f"expected booleans for keys {sorted(faults)}\n")
        faults.update(body)
        return web.json_response(faults)

    app.router.add_get("/manifests/{ref}", manifest)
    app.router.add_route("GET", "/blobs/{digest}", blob)
    app.router.add_route("HEAD", "/blobs/{digest}", blob)
    app.router.add_get("/stats", stats)
    app.router.add_post("/stats/reset", reset)
    app.router.add_post("/faults", set_faults)
    return app
