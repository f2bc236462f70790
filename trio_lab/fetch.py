"""The registry client the loaders use: bounded retries, verified bytes, never a hang.

Each FUSE worker thread keeps its own keep-alive HTTP connection. A fetch that fails (connection
refused or reset, timeout, 5xx) is retried a bounded number of times with a short backoff, then
raises :class:`FetchError`, which the read path turns into EIO. Every byte handed to a caller
has been checked against a sha256 digest first; a mismatch is logged and is also an EIO.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import threading
import time
import urllib.parse
from typing import Callable

from trio_lab.model import sha256

log = logging.getLogger("trio_lab.fetch")


class FetchError(OSError):
    """A blob could not be fetched, or its bytes did not match their digest."""


class _SinkFailed(Exception):
    """Raised through :meth:`BlobClient.stream` when its sink fails, so that is not retried."""


class BlobClient:
    def __init__(self, base_url: str, retries: int = 3, timeout_s: float = 10.0, backoff_s: float = 0.05):
        url = urllib.parse.urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.retries = retries
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def request(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None) -> tuple[int,
                                                                                                               bytes]:
        return self.exchange(method, path, headers, body)[:2]

    def exchange(self, method: str, path: str, headers: dict | None = None,
                 body: bytes | None = None) -> tuple[int, bytes, dict]:
        """One request with bounded retries: (status, body, response headers)."""
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                conn = self._connection()
                conn.request(method, path, body=body, headers=headers or {})
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                last = exc
                continue
            if response.status >= 500:
                last = FetchError(f"{method} {path}: HTTP {response.status} {data[:80]!r}")
                continue
            return response.status, data, dict(response.getheaders())
        raise FetchError(f"{method} {path}: failed after {self.retries + 1} attempts: {last}")

    def blob(self, digest: str, start: int | None = None, length: int | None = None,
             expect: str | None = None) -> bytes:
        """Fetch blob `digest` (or `length` bytes from `start`) and verify it.

        A whole blob is checked against its own name; a range against `expect`, the digest of
        the content that range holds (e.g. one file inside a layer tar).
        """
        headers = {}
        if start is not None:
            headers["Range"] = f"bytes={start}-{start + (length or 0) - 1}"
        status, data = self.request("GET", f"/blobs/{digest}", headers)
        if status not in (200, 206):
            raise FetchError(f"GET {digest}: HTTP {status} {data[:80]!r}")
        want = expect if start is not None else digest
        if want is not None and (got := sha256(data)) != want:
            log.error("digest mismatch for %s (range start %s): got %s", want, start, got)
            raise FetchError(f"GET {digest}{'' if start is None else f' (range at {start})'}: digest mismatch, "
                             f"expected {want}, got {got}")
        return data

    def stream(self, digest: str, sink: Callable[[bytes], None], piece: int = 64 * 1024) -> int:
        """GET the whole blob `digest` and hand its body to `sink` piece by piece as it arrives,
        so the caller can use the first bytes while the rest is still on the wire; returns the
        size. A connection lost midway is resumed where it stopped (``Range: bytes=N-``) within
        the retry budget. The whole is checked against its name at the end: the caller must
        verify what it uses before that (TrIO checks every extent against its own digest).
        """
        received, hasher, last = 0, hashlib.sha256(), None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            headers = {"Range": f"bytes={received}-"} if received else {}
            try:
                conn = self._connection()
                conn.request("GET", f"/blobs/{digest}", headers=headers)
                response = conn.getresponse()
                if response.status != (206 if received else 200):
                    body = response.read()
                    last = FetchError(f"GET {digest}: HTTP {response.status} {body[:80]!r}")
                    if response.status < 500:
                        break
                    continue
                while data := response.read(piece):
                    received += len(data)
                    hasher.update(data)
                    try:
                        sink(data)
                    except Exception as exc:  # the caller refused the bytes: not a network fault to retry
                        raise _SinkFailed() from exc
                if response.length:  # closed before Content-Length bytes came: resume
                    raise http.client.IncompleteRead(b"", response.length)
            except _SinkFailed as exc:
                self._drop()
                raise exc.__cause__ from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                last = exc
                continue
            if "sha256:" + hasher.hexdigest() != digest:
                log.error("digest mismatch for streamed blob %s", digest)
                raise FetchError(f"GET {digest}: digest mismatch, expected {digest}")
            return received
        raise FetchError(f"GET {digest} (streamed, {received} bytes in): failed after {self.retries + 1} "
                         f"attempts: {last}")

    def manifest(self, ref: str) -> tuple[bytes, str]:
        """The image manifest named `ref` (an image name, or its ``sha256:`` digest) and its digest.

        By digest, the bytes must hash to it; by name, they must hash to the digest the registry
        announces (``Docker-Content-Digest``), so a corrupted manifest is refused either way.
        """
        quoted = urllib.parse.quote(ref, safe=":")
        status, data, headers = self.exchange("GET", f"/manifests/{quoted}")
        if status != 200:
            raise FetchError(f"GET manifest {ref}: HTTP {status} {data[:80]!r}")
        announced = {k.lower(): v for k, v in headers.items()}.get("docker-content-digest")
        want = ref if ref.startswith("sha256:") else announced
        if want is None or sha256(data) != want:
            log.error("digest mismatch for manifest %s: expected %s, got %s", ref, want, sha256(data))
            raise FetchError(f"GET manifest {ref}: digest mismatch, expected {want}")
        return data, want

    def stats(self) -> dict:
        return json.loads(self.request("GET", "/stats")[1])

    def reset(self) -> dict:
        return json.loads(self.request("POST", "/stats/reset")[1])

    def faults(self, **faults: bool) -> dict:
        status, data = self.request("POST", "/faults", {"Content-Type": "application/json"},
                                    json.dumps(faults).encode())
        if status != 200:
            raise FetchError(f"POST /faults: HTTP {status} {data!r}")
        return json.loads(data)
