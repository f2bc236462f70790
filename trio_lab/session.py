"""`sysai trio mount` as a foreground session: check the request, serve the image, mount it,
wait for Ctrl-C or SIGTERM, unmount. The CLI only parses and calls :func:`mount_until_interrupted`.
"""

from __future__ import annotations

import contextlib
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sysai.errors import UserError


@dataclass
class MountRequest:
    image: str  # an image folder, or with `registry` a name or sha256: digest
    mountpoint: Path
    loader: str = "trio"
    registry: str | None = None  # a running `sysai trio serve`; None: serve IMAGE here
    rtt_ms: float = 0.0
    bandwidth_mbps: float | None = None
    options: dict = field(default_factory=dict)  # per-plugin options {name: {key: value}}
    plugins: list = field(default_factory=list)  # plugin files, loaded in the daemon too


def _interrupt(signum, frame):
    # SIGTERM unmounts exactly like Ctrl-C; further signals are ignored so they cannot cut the
    # unmount short (the handlers are restored when the session returns)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt


def check(req: MountRequest) -> str:
    """Every one-line error before anything starts; returns the image reference to mount."""
    from trio_lab.blobserver import make_app
    from trio_lab.fetch import BlobClient, FetchError
    from trio_lab.loaders.base import LOADERS
    from trio_lab.mounts import fuse_available, image_ref
    from trio_lab.store import Manifest

    LOADERS.make_config(req.loader, req.options.get(req.loader))
    if req.registry is None:
        manifest = Manifest.load(Path(req.image))
        ref = image_ref(Path(req.image))
        make_app(req.image, req.rtt_ms, req.bandwidth_mbps)  # a bad link is one line now
        if manifest.runtime_index is None and getattr(LOADERS.get(req.loader), "needs_trace", False):
            raise UserError(f"image {req.image} has no startup trace yet, which loader {req.loader!r} needs: record "
                            f"one with `sysai trio record {req.image} -- COMMAND` ({{root}} is the mount)")
    else:
        if not req.registry.startswith("http://"):
            raise UserError(f"--registry must be an http:// URL (got {req.registry!r})")
        ref = req.image
        try:
            BlobClient(req.registry, retries=1, timeout_s=5).manifest(ref)
        except FetchError as exc:
            raise UserError(f"cannot resolve {ref!r} at {req.registry}: {exc}") from None
    ok, why = fuse_available()
    if not ok:
        raise UserError(f"cannot mount: {why}")
    if not req.mountpoint.is_dir() or any(req.mountpoint.iterdir()):
        raise UserError(f"mountpoint {req.mountpoint} must be an existing empty directory")
    return ref


def mount_until_interrupted(req: MountRequest, say: Callable[[str], None]) -> None:
    from sysai.http import serve_in_thread
    from trio_lab.blobserver import make_app
    from trio_lab.fetch import BlobClient, FetchError
    from trio_lab.mounts import MountDaemon

    ref = check(req)
    # explicit handlers: a shell that starts us in the background sets SIGINT to "ignore"
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with contextlib.ExitStack() as stack:
            url = req.registry or stack.enter_context(serve_in_thread(make_app(req.image, req.rtt_ms,
                                                                               req.bandwidth_mbps)))
            with MountDaemon(ref, url, req.loader, mountpoint=req.mountpoint, log_to_stderr=True,
                             loader_options=req.options.get(req.loader), plugins=req.plugins) as daemon:
                try:  # a signal at any point from here on, even before pause(), lands in the except
                    info = daemon.go()
                    say(f"mounted {req.image} at {req.mountpoint} with loader {req.loader} from {url} "
                        f"({info['libfuse']}, ready in {info['prepare_s']:.2f} s); Ctrl-C to unmount")
                    signal.pause()
                except KeyboardInterrupt:
                    pass
                try:
                    say(f"registry: {BlobClient(url, retries=0, timeout_s=2).stats()}")
                except FetchError:
                    say(f"registry at {url} is not answering")
    except KeyboardInterrupt:  # interrupted while the daemon was starting: it has been stopped
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    say(f"unmounted {req.mountpoint}")
