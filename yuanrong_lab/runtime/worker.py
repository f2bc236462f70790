"""What runs inside a Ray actor: one instance of a stateless function or of a stateful class.

A stateless instance measures its own cold start: when its process started running the actor
(versus when the caller asked for it), how long importing the function's module took, and how
long the function's own init took (a class target is constructed once per instance, then called).
"""

from __future__ import annotations

import importlib
import importlib.util
import pickle
import sys
import time
from dataclasses import dataclass
from typing import Any


class Packed:
    """A value travelling *by value*: pickled bytes that the caller unpickles (a copy each hop)."""

    __slots__ = ("blob",)

    def __init__(self, blob: bytes):
        self.blob = blob


@dataclass(frozen=True)
class FileTarget:
    """A function in a user's ``--functions DIR``: imported from that file by the instance."""

    path: str
    module: str
    attr: str

    def load(self) -> Any:
        key = f"yuanrong_user.{self.module}"
        if key not in sys.modules:
            root = self.path.rsplit(
                "/", self.module.count(".") + 2 if self.path.endswith("/__init__.py") else self.module.count(".") + 1
            )[0]
            if root not in sys.path:
                sys.path.append(root)  # the module may import its siblings in DIR
            spec = importlib.util.spec_from_file_location(key, self.path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[key] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[key]
                raise
        return getattr(sys.modules[key], self.attr)

    def __str__(self) -> str:
        return f"{self.module}:{self.attr} ({self.path})"


def load_target(target: Any) -> Any:
    """A callable from ``"package.module:attr"`` (imported here), a :class:`FileTarget`, or the
    callable itself."""
    if isinstance(target, FileTarget):
        target = target.load()
    elif isinstance(target, str):
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


class KVStore:
    """The runtime's key-value store (openYuanrong's data system KV): bytes by key, in one actor."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def write(self, key: str, value: bytes) -> None:
        self.data[key] = value

    def read(self, key: str) -> bytes | None:
        return self.data.get(key)

    def delete(self, key: str) -> None:
        self.data.pop(key, None)
