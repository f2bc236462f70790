"""openYuanrong's Python API, on Ray: the names and shapes of openYuanrong's own documentation.

    import yuanrong_lab.runtime as yr           # openYuanrong: import yr

    @yr.invoke                                  # a stateless function
    def square(x):
        return x * x

    @yr.instance                                # a stateful function (a class)
    class Counter:
        def __init__(self, start=0): self.n = start
        def add(self, k): self.n += k; return self.n

    yr.init()                                   # Ray (local, 127.0.0.1, no dashboard) + the runtime
    ref = square.invoke(7)                      # an ObjectRef, at once
    assert yr.get(ref) == 49
    big = square.options(yr.InvokeOptions(cpu=1000, memory=256)).invoke(3)   # 1 CPU, 256 MB
    c = Counter.options(yr.InvokeOptions(name="tally")).invoke(10)           # a named instance
    yr.get([c.add.invoke(1), yr.get_instance("tally").add.invoke(2)])        # [11, 13]: in order
    c.terminate()
    yr.kv_write("model", b"v1"); assert yr.kv_read("model") == b"v1"; yr.kv_del("model")
    yr.finalize()                               # stop the runtime's instances, then Ray

openYuanrong ↔ here: ``@yr.invoke`` (``f.invoke`` → ObjectRef) is served by a warm pool of Ray
actors (keep-alive, autoscaler: :mod:`yuanrong_lab.runtime.core`); ``@yr.instance`` is one Ray
actor whose calls run in submission order; ``yr.put/get/wait/cancel`` are Ray's object store and
task calls; ``yr.InvokeOptions(cpu=millicores, memory=MB)`` become the actor's Ray resources;
``yr.kv_*`` is openYuanrong's data-system KV, here one small Ray actor holding bytes.
``with yr.session(...)`` is :func:`init` + :func:`finalize` as a context manager.
"""

from __future__ import annotations

import dataclasses
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from sysai.config import from_mapping
from sysai.errors import UserError
from yuanrong_lab.config import FunctionConfig
from yuanrong_lab.runtime.core import (
    FunctionError,
    FunctionTimeout,
    InstanceLost,
    QueueTimeout,
    Runtime,
    UnknownFunction,
)

__all__ = [
    "init",
    "finalize",
    "invoke",
    "instance",
    "InvokeOptions",
    "get",
    "put",
    "wait",
    "cancel",
    "get_instance",
    "kv_write",
    "kv_read",
    "kv_del",
    "session",
    "current",
    "Runtime",
    "FunctionError",
    "FunctionTimeout",
    "QueueTimeout",
    "InstanceLost",
    "UnknownFunction",
]

_current: Runtime | None = None
_stack: ExitStack | None = None


def init(address: str | None = None, cpus: int | None = None, **ray_kwargs: Any) -> Runtime:
    """Start (or join, with `address`) a Ray cluster and a runtime on it; call :func:`finalize` at the end.

    A Ray already initialised (a notebook, a test fixture) is reused and left running by finalize."""
    global _current, _stack
    from sysai.raycluster import ray_cluster

    if _current is not None:
        raise UserError("yr.init() was already called: call yr.finalize() first")
    stack = ExitStack()
    try:
        stack.enter_context(ray_cluster(address=address, num_cpus=cpus, **ray_kwargs))
        runtime = Runtime()
        stack.callback(runtime.shutdown)
    except BaseException:
        stack.close()
        raise
    _current, _stack = runtime, stack
    return runtime


def finalize() -> None:
    """Stop every instance this runtime started, then Ray (if :func:`init` started it)."""
    global _current, _stack
    stack, _current, _stack = _stack, None, None
    if stack is not None:
        stack.close()


@contextmanager
def session(address: str | None = None, num_cpus: int | None = None, **ray_kwargs: Any) -> Iterator[Runtime]:
    """``init`` … ``finalize`` as a block: both always happen, also on an exception."""
    runtime = init(address, num_cpus, **ray_kwargs)
    try:
        yield runtime
    finally:
        finalize()


def current() -> Runtime:
    if _current is None:
        raise UserError("no yuanrong runtime: call yr.init() first (or use `with yr.session():`)")
    return _current


@dataclass(frozen=True)
class InvokeOptions:
    """Per-call resources and identity, in openYuanrong's units (``yr.InvokeOptions``).

    Unset fields keep the function's own configuration."""

    cpu: int | None = None  # millicores: 1000 = one CPU
    memory: int | None = None  # MB
    name: str | None = None  # a named stateful instance, found again with yr.get_instance(name)
    concurrency: int | None = None  # calls one instance runs at once
    custom_resources: dict | None = None  # e.g. {"edge": 0.1}: which nodes may run it

    def __post_init__(self) -> None:
        if self.cpu is not None and self.cpu < 0 or self.memory is not None and self.memory <= 0:
            raise UserError(f"InvokeOptions: cpu (millicores) >= 0 and memory (MB) > 0, got {self.cpu}, {self.memory}")

    def ray_options(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.cpu is not None:
            out["num_cpus"] = self.cpu / 1000.0
        if self.memory is not None:
            out["memory"] = int(self.memory) * 1024 * 1024  # Ray's logical memory resource is in bytes
        if self.custom_resources:
            out["resources"] = dict(self.custom_resources)
        return out


class Function:
    """A stateless function: `.invoke(*args)` returns a ref; instances come from a warm pool."""

    def __init__(self, fn: Any, config: FunctionConfig, suffix: str = ""):
        self.__yr_target__ = fn
        self.config = config
        self.name = f"{fn.__module__}.{fn.__qualname__}{suffix}"
        self.__doc__ = fn.__doc__

    def _ensure(self, runtime: Runtime) -> None:
        if self.name not in runtime.functions:
            with runtime.lock:
                if self.name not in runtime.functions:
                    runtime.register(self.name, _shippable(self.__yr_target__), self.config)

    def options(self, opts: InvokeOptions) -> Function:
        """The same function with other resources: its own pool of instances sized that way."""
        changes: dict[str, Any] = {}
        if opts.cpu is not None:
            changes["num_cpus"] = opts.cpu / 1000.0
        if opts.memory is not None:
            changes["memory_mb"] = float(opts.memory)
        if opts.concurrency is not None:
            changes["concurrency"] = opts.concurrency
        if opts.custom_resources:
            changes["resources"] = dict(opts.custom_resources)
        if opts.name is not None:
            raise UserError(
                "InvokeOptions(name=...) names a stateful instance (@yr.instance), not a stateless function"
            )
        if not changes:
            return self
        suffix = "[" + ",".join(f"{k}={v}" for k, v in sorted(changes.items())) + "]"
        return Function(self.__yr_target__, dataclasses.replace(self.config, **changes), suffix)

    def invoke(self, *args: Any, by_value: bool = False, **kwargs: Any) -> Any:
        """Call on a warm instance (or cold-start one); `by_value` ships the data through the caller."""
        runtime = current()
        self._ensure(runtime)
        return runtime.submit(self.name, args, kwargs, by_value=by_value).ref

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__yr_target__(*args, **kwargs)  # a plain local call, for tests and composition


def _shippable(obj: Any) -> Any:
    """An importable callable travels as its import path, so the instance really imports it (and
    the import is measured); one defined in ``__main__`` or inside a function travels pickled."""
    if obj.__module__ != "__main__" and "<locals>" not in obj.__qualname__:
        return f"{obj.__module__}:{obj.__qualname__}"
    return obj


def invoke(fn: Any = None, **config: Any) -> Any:
    """Decorator for a stateless function: ``@yr.invoke`` or ``@yr.invoke(max_instances=4, ...)``
    (keys of :class:`~yuanrong_lab.config.FunctionConfig`)."""
    cfg = from_mapping(FunctionConfig, config, "function config")
    if fn is None:
        return lambda f: Function(f, cfg)
    return Function(fn, cfg)


class _Method:
    def __init__(self, actor: Any, name: str):
        self._actor, self._name = actor, name

    def invoke(self, *args: Any, **kwargs: Any) -> Any:
        return self._actor.call.remote(self._name, *args, **kwargs)


class InstanceProxy:
    """One stateful instance; ``proxy.method.invoke(...)`` → ref; lives until :meth:`terminate`."""

    def __init__(self, actor: Any):
        self._actor = actor

    def __getattr__(self, name: str) -> _Method:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Method(self._actor, name)

    def terminate(self, timeout_s: float = 30.0) -> None:
        """Kill the instance and return once it is dead: every later call fails.

        ``ray.kill`` is asynchronous — a call submitted right after it may still run — so wait until
        a probe call fails the way every later call will."""
        import ray

        ray.kill(self._actor, no_restart=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                ray.get(self._actor.ping.remote(), timeout=max(0.1, deadline - time.monotonic()))
            except ray.exceptions.RayActorError:
                return
            except ray.exceptions.GetTimeoutError:
                break
            time.sleep(0.02)
        raise RuntimeError(f"instance still answering {timeout_s:g} s after terminate()")


class InstanceClass:
    """A decorated class: ``Cls.invoke(*args)`` creates one instance, ``Cls.options(...)`` sizes or names it."""

    def __init__(self, cls: type, num_cpus: float, resources: dict | None = None, opts: InvokeOptions | None = None):
        self.__yr_target__ = cls
        self.num_cpus = num_cpus
        self.resources = resources
        self.opts = opts or InvokeOptions()

    def options(self, opts: InvokeOptions) -> InstanceClass:
        return InstanceClass(self.__yr_target__, self.num_cpus, self.resources, opts)

    def invoke(self, *args: Any, **kwargs: Any) -> InstanceProxy:
        ray_options = {
            "num_cpus": self.num_cpus,
            **({"resources": self.resources} if self.resources else {}),
            **self.opts.ray_options(),
        }
        if self.opts.name is not None:
            ray_options["name"] = self.opts.name
        if self.opts.concurrency is not None:
            raise UserError(
                "InvokeOptions(concurrency=...) is for stateless functions: an instance runs its calls in order"
            )
        actor = current().create_instance(_shippable(self.__yr_target__), args, kwargs, ray_options)
        return InstanceProxy(actor)


def instance(cls: Any = None, *, num_cpus: float = 0.1, resources: dict | None = None) -> Any:
    """Decorator for a stateful class: ``Cls.invoke(*args)`` creates one instance (one actor)."""
    if cls is None:
        return lambda c: InstanceClass(c, num_cpus, resources)
    return InstanceClass(cls, num_cpus, resources)


def get_instance(name: str) -> InstanceProxy:
    """The named instance created with ``Cls.options(yr.InvokeOptions(name=name)).invoke(...)``."""
    return InstanceProxy(current().named_instance(name))


def get(refs: Any, timeout: float | None = None) -> Any:
    """The value of one ref, or the values of a list of refs, waiting for them."""
    return current().get(refs, timeout)


def put(value: Any) -> Any:
    """Store `value` once in the object store (shared memory); pass the ref to share it zero-copy."""
    import ray

    current()
    return ray.put(value)


def wait(refs: list, wait_num: int = 1, timeout: float | None = None) -> tuple[list, list]:
    """(ready, not ready) once `wait_num` of `refs` are ready or `timeout` seconds passed."""
    import ray

    current()
    return ray.wait(list(refs), num_returns=wait_num, timeout=timeout)


def cancel(refs: Any) -> None:
    """Cancel calls that have not started yet (a running call is not interrupted)."""
    import ray

    current()
    for ref in refs if isinstance(refs, list) else [refs]:
        ray.cancel(ref)


def kv_write(key: str, value: bytes) -> None:
    """Store `value` (bytes) under `key` in the runtime's KV store (openYuanrong's data system KV)."""
    current().kv_write(key, value)


def kv_read(key: str, timeout: float = 30.0) -> bytes:
    """The bytes stored under `key`; KeyError if there are none."""
    return current().kv_read(key, timeout)


def kv_del(key: str) -> None:
    current().kv_del(key)
