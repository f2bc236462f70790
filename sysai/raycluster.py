"""Ray, started and always stopped: one place for every lab that uses a Ray cluster.

``with ray_cluster(num_cpus=2) as ray: ...`` starts a private local Ray bound to 127.0.0.1
with no dashboard, or connects to an existing cluster with ``address=``; on exit — normal,
exception or Ctrl-C — it shuts Ray down again. If Ray is already initialised (a test module's
shared fixture, a notebook), it is reused and left running for its owner.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Any, Iterator

from sysai.errors import UserError


def keep_ray_on_loopback() -> None:
    """Make a local Ray cluster use 127.0.0.1 for every node.

    Ray resolves 127.0.0.1 to the machine's routable address; its single-machine mode (the one it
    uses on macOS and Windows) keeps nodes on loopback instead. The environment variable covers
    Ray's own child processes; the module constant covers a Ray already imported here.
    """
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray._private.ray_constants as ray_constants

    ray_constants.ENABLE_RAY_CLUSTER = False


@contextmanager
def ray_cluster(address: str | None = None, num_cpus: int | None = None, **init_kwargs: Any) -> Iterator[Any]:
    import ray

    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING,
                              "log_to_driver": False, **init_kwargs}
    if address:
        kwargs["address"] = address
    else:
        # A private local cluster even if RAY_ADDRESS points elsewhere; loopback only.
        os.environ.pop("RAY_ADDRESS", None)
        keep_ray_on_loopback()
        # Ray's default (token auth on) is what we want; its notice about that default is noise here.
        logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
        # "local" always starts a new cluster; without it ray.init() attaches to any `ray start` one.
        kwargs.update(address="local", num_cpus=num_cpus)
    try:
        ray.init(**kwargs)
    except ConnectionError as exc:
        raise UserError(f"cannot connect to the Ray cluster at {address}: {exc}") from None
    failed = True
    try:
        with _cluster_notices_to_stderr():
            yield ray
        failed = False
    finally:
        if failed:
            # A run stopped by an error shuts Ray down while other tasks still fail; Ray's C++ core
            # then logs "Failed to push error to driver" straight to fd 2. The error that stopped
            # the run is what the user reads, so that noise must not land next to it.
            with _native_stderr_silenced():
                ray.shutdown()
        else:
            ray.shutdown()


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration (C++ logs bypass ``sys.stderr``)."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@contextmanager
def _cluster_notices_to_stderr() -> Iterator[None]:
    """Ray's driver prints cluster notices ("(raylet) A worker died ...") on *stdout* from a
    background thread, whatever ``log_to_driver`` says; they are diagnostics, so they go to stderr
    here, where they cannot break a command's ``--json`` output."""
    from ray._private import worker as ray_worker

    original = getattr(ray_worker, "print_to_stdstream", None)
    if original is None:  # another Ray version: nothing to reroute
        yield
        return

    def to_stderr(data: dict, ignore_prefix: bool) -> None:
        original({**data, "is_err": True}, ignore_prefix)

    ray_worker.print_to_stdstream = to_stderr
    try:
        yield
    finally:
        ray_worker.print_to_stdstream = original
