"""The openYuanrong-style Python API, on Ray.

    import yuanrong_lab.runtime as yr

    @yr.function(max_instances=4, keepalive={"policy": "fixed", "ttl_s": 600})
    def square(x):
        return x * x

    @yr.instance
    class Counter:
        def __init__(self, start=0): self.n = start
        def add(self, k): self.n += k; return self.n

    with yr.session(num_cpus=2):               # Ray (local, 127.0.0.1) + runtime, both stopped on exit
        ref = square.invoke(7)                  # a Ray ObjectRef (openYuanrong: yr.invoke → ObjectRef)
        assert yr.get(ref) == 49
        c = Counter.invoke(10)                  # a stateful instance (openYuanrong: yr.instance)
        yr.get([c.add.invoke(1), c.add.invoke(2)])   # [11, 13]: calls on one instance run in order
        c.terminate()

openYuanrong ↔ here: ``@yr.invoke`` ↔ :func:`function`; ``@yr.instance`` ↔ :func:`instance`;
``yr.get/put/wait`` ↔ :func:`get`/:func:`put`/:func:`wait`; ``ins.terminate()`` ↔ the same.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Iterator

from sysai.config import from_mapping
from yuanrong_lab.config import FunctionConfig
from yuanrong_lab.runtime.core import FunctionError, FunctionTimeout, InstanceLost, Runtime, UnknownFunction

__all__ = ["function", "instance", "get", "put", "wait", "terminate", "session", "current", "Runtime",
           "FunctionError", "FunctionTimeout", "InstanceLost", "UnknownFunction"]

_current: Runtime | None = None


@contextmanager
def session(address: str | None = None, num_cpus: int | None = None, **ray_kwargs: Any) -> Iterator[Runtime]:
    """Ray (via sysai.raycluster) and a runtime on it; both stopped when the block ends."""
    global _current
    from sysai.raycluster import ray_cluster

    with ray_cluster(address=address, num_cpus=num_cpus, **ray_kwargs):
        runtime = Runtime()
        previous, _current = _current, runtime
        try:
            yield runtime
        finally:
            _current = previous
            runtime.shutdown()


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("no yuanrong runtime: use `with yuanrong_lab.runtime.session(...):`")
    return _current


class Function:
    """A stateless function: `.invoke(*args)` returns a ref; instances come from a warm pool."""

    def __init__(self, fn: Any, config: FunctionConfig):
        self.__yr_target__ = fn
        self.config = config
        self.name = f"{fn.__module__}.{fn.__qualname__}"
        self.__doc__ = fn.__doc__

    def _ensure(self, runtime: Runtime) -> None:
        if self.name not in runtime.functions:
            with runtime.lock:
                if self.name not in runtime.functions:
                    runtime.register(self.name, _shippable(self.__yr_target__), self.config)

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


def function(fn: Any = None, **config: Any) -> Any:
    """Decorator for a stateless function (`@function` or `@function(max_instances=4, ...)`)."""
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
    def __init__(self, cls: type, num_cpus: float, resources: dict | None = None):
        self.__yr_target__ = cls
        self.num_cpus = num_cpus
        self.resources = resources

    def invoke(self, *args: Any, **kwargs: Any) -> InstanceProxy:
        target = _shippable(self.__yr_target__)
        return InstanceProxy(current().create_instance(target, args, kwargs, self.num_cpus, self.resources))


def instance(cls: Any = None, *, num_cpus: float = 0.1, resources: dict | None = None) -> Any:
    """Decorator for a stateful class: ``Cls.invoke(*args)`` creates one instance (one actor)."""
    if cls is None:
        return lambda c: InstanceClass(c, num_cpus, resources)
    return InstanceClass(cls, num_cpus, resources)


def get(refs: Any, timeout: float | None = None) -> Any:
    return current().get(refs, timeout)


def put(value: Any) -> Any:
    """Store `value` once in the object store (shared memory); pass the ref to share it zero-copy."""
    import ray

    return ray.put(value)


def wait(refs: list, num_returns: int = 1, timeout: float | None = None) -> tuple[list, list]:
    import ray

    return ray.wait(list(refs), num_returns=num_returns, timeout=timeout)


def terminate(proxy: InstanceProxy) -> None:
    proxy.terminate()
