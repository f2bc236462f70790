"""What runs inside a Ray actor: one instance of a stateless function or of a stateful class.

A stateless instance measures its own cold start: when its process started running the actor
(versus when the caller asked for it), how long importing the function's module took, and how
long the function's own init took (a class target is constructed once per instance, then called).
"""

from __future__ import annotations

import importlib
import pickle
import time
from typing import Any


class Packed:
    """A value travelling *by value*: pickled bytes that the caller unpickles (a copy each hop)."""

    __slots__ = ("blob",)

    def __init__(self, blob: bytes):
        self.blob = blob


def load_target(target: Any) -> Any:
    """A callable from ``"package.module:attr"`` (imported here) or the callable itself."""
    if isinstance(target, str):
        module_name, _, attr = target.partition(":")
        obj = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        target = obj
    return getattr(target, "__yr_target__", target)  # a decorated function: its plain callable


class FunctionWorker:
    def __init__(self, target: Any, submitted_at: float):
        started = time.time()
        self.timings = {"actor_start_ms": max(0.0, (started - submitted_at) * 1e3)}
        t = time.perf_counter()
        fn = load_target(target)
        self.timings["import_ms"] = (time.perf_counter() - t) * 1e3
        t = time.perf_counter()
        self.fn = fn() if isinstance(fn, type) else fn  # the function's own init (a class: once)
        self.timings["init_ms"] = (time.perf_counter() - t) * 1e3

    def ready(self) -> dict[str, float]:
        return self.timings

    def call(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def call_by_value(self, blob: bytes) -> Packed:
        args, kwargs = pickle.loads(blob)
        return Packed(pickle.dumps(self.fn(*args, **kwargs), protocol=pickle.HIGHEST_PROTOCOL))


class InstanceWorker:
    """A stateful instance: one object; calls run one at a time, in submission order."""

    def __init__(self, target: Any, args: tuple, kwargs: dict):
        self.obj = load_target(target)(*args, **kwargs)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.obj, method)(*args, **kwargs)

    def ping(self) -> None:
        """A no-op: `terminate` probes with it until the instance is dead."""
