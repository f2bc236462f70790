"""Registries: how a policy, loader, keep-alive rule or agent is found by name.

An extension point is a small abstract class with one method. Each implementation is one file
in a plugin package and registers itself with a decorator::

    POLICIES = Registry("routing policy", package="llm_la_lab.policies")

    @POLICIES.register("round_robin")
    class RoundRobin(Policy): ...

The registry imports every module of its plugin package the first time it is asked for a name,
so the core never imports a plugin by name and never dispatches on strings. A student's own
file outside the package can be loaded with :meth:`Registry.load_file`.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path
from typing import Callable, Generic, TypeVar

from sysai.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name → implementation, filled by the ``@register(name)`` decorator."""

    def __init__(self, kind: str, package: str | None = None):
        self.kind = kind
        self.package = package
        self._items: dict[str, T] = {}
        self._discovered = package is None

    def register(self, name: str) -> Callable[[T], T]:
        def decorate(item: T) -> T:
            existing = self._items.get(name)
            if existing is not None and _qualname(existing) != _qualname(item):
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = item
            return item

        return decorate

    def get(self, name: str) -> T:
        self._discover()
        try:
            return self._items[name]
        except KeyError:
            raise UserError(
                f"unknown {self.kind} {name!r} (choose from: {', '.join(self.names())})"
            ) from None

    def names(self) -> list[str]:
        self._discover()
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        return [(name, self.get(name)) for name in self.names()]

    def __contains__(self, name: str) -> bool:
        self._discover()
        return name in self._items

    def load_file(self, path: str | Path) -> None:
        """Import a plugin from a file anywhere (e.g. a student's own policy)."""
        path = Path(path)
        if not path.is_file():
            raise UserError(f"{self.kind} plugin file not found: {path}")
        module_name = f"sysai_plugin_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise UserError(f"cannot import {self.kind} plugin from {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        package = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{self.package}.{info.name}")


def _qualname(item: object) -> str:
    return f"{getattr(item, '__module__', '')}.{getattr(item, '__qualname__', repr(item))}"
