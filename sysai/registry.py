"""Registries: how a policy, loader, keep-alive rule or agent is found by name.

An extension point is a small abstract class with one method. Each implementation is one file
in a plugin package and registers itself with a decorator::

    POLICIES = Registry("routing policy", package="llm_la_lab.policies")

    @POLICIES.register("round_robin")
    class RoundRobin(Policy): ...

The registry imports every module of its plugin package the first time it is asked for a name,
so the core never imports a plugin by name and never dispatches on strings. A student's own
file outside the package can be loaded with :meth:`Registry.load_file` (``--plugin FILE``).

One config pattern everywhere: a plugin class may declare its knobs as a dataclass ``Config``
(fields made with :func:`sysai.config.option`, so each has a default and a help text), and
:meth:`Registry.create` builds it from a mapping of options, rejecting unknown keys::

    @POLICIES.register("llm_la", default=True)   # default=True: part of the default comparison
    class LlmLa(Policy):
        @dataclass
        class Config:
            pull_depth: int = option(4, "requests a replica may hold beyond its batch")

    POLICIES.create("llm_la", seed=42, options={"pull_depth": 8})  # -> LlmLa(seed=42, config=Config(8))

Defaults, help texts and contract tests come from :meth:`names` and :meth:`defaults`, so a file
dropped into the package shows up everywhere with no other edit.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
import traceback
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable, Generic, Mapping, TypeVar

from sysai.config import describe as describe_config
from sysai.config import from_mapping
from sysai.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name → implementation, filled by the ``@register(name)`` decorator."""

    def __init__(self, kind: str, package: str | None = None):
        self.kind = kind
        self.package = package
        self._items: dict[str, T] = {}
        self._defaults: set[str] = set()
        self._discovered = package is None

    def register(self, name: str, default: bool = False) -> Callable[[T], T]:
        """Decorator: file `item` under `name`; ``default=True`` puts it in :meth:`defaults`."""

        def decorate(item: T) -> T:
            existing = self._items.get(name)
            if existing is not None and _qualname(existing) != _qualname(item):
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = item
            if default:
                self._defaults.add(name)
            return item

        return decorate

    def defaults(self) -> list[str]:
        """The names registered with ``default=True`` (what a command runs when none is named)."""
        self._discover()
        return sorted(self._defaults)

    def config_class(self, name: str) -> type | None:
        """The plugin's ``Config`` dataclass, or None if it has no options."""
        return getattr(self.get(name), "Config", None)

    def make_config(self, name: str, options: Mapping[str, Any] | None = None) -> Any:
        """The plugin's ``Config`` built from `options` (checked: unknown keys and bad values are errors)."""
        cls = self.config_class(name)
        if cls is None:
            if options:
                raise UserError(f"{self.kind} {name!r} has no options (got {', '.join(map(repr, options))})")
            return None
        return from_mapping(cls, options or {}, where=f"options of {self.kind} {name!r}")

    def create(self, name: str, *args: Any, seed: int = 0, options: Mapping[str, Any] | None = None,
               **kwargs: Any) -> Any:
        """An instance of plugin `name`: ``cls(*args, seed=seed, config=Config(**options), **kwargs)``."""
        config = self.make_config(name, options)
        return self.get(name)(*args, seed=seed, config=config, **kwargs)  # type: ignore[operator]

    def describe(self) -> list[PluginInfo]:
        """Every plugin with its default flag, first docstring line and options (for `sysai plugins`)."""
        rows = []
        for name, item in self.items():
            doc = _summary(item)
            config = getattr(item, "Config", None)
            options = describe_config(config) if config is not None else []
            rows.append(PluginInfo(name, name in self._defaults, doc, options))
        return rows

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
        self._discover()  # the package's own plugins first, so a clash names the student's file
        load_plugin_file(path, self.kind)

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        package = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{self.package}.{info.name}")


@dataclass(frozen=True)
class PluginInfo:
    name: str
    default: bool
    summary: str
    options: list[tuple[str, str, str]]  # (key, default, help)


def load_plugin_file(path: str | Path, kind: str = "") -> None:
    """Import a plugin file from anywhere; its decorators register it in whichever registry it names."""
    path = Path(path)
    what = f"{kind} plugin" if kind else "plugin"
    if not path.is_file():
        raise UserError(f"{what} file not found: {path}")
    module_name = f"sysai_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"cannot import {what} from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise UserError(f"{path}:{exc.lineno}: {what} has a syntax error: {exc.msg}") from None
    except ImportError as exc:
        raise UserError(f"{path}: {what} cannot import {exc.name or exc}") from None
    except UserError:
        raise
    except Exception as exc:  # the attendee's own file failed as it loaded: their error, shown where it is
        frames = traceback.extract_tb(exc.__traceback__)
        lines = [f.lineno for f in frames if Path(f.filename).resolve() == path.resolve()]
        where = f"{path}:{lines[-1]}" if lines else str(path)
        raise UserError(f"{where}: {what} failed to load: {type(exc).__name__}: {exc}") from None


def resolve(path: str) -> Registry[Any]:
    """The registry at dotted path ``"package.module:ATTR"`` (as a lab lists them in ``Lab.registries``)."""
    module, _, attr = path.partition(":")
    registry = getattr(importlib.import_module(module), attr)
    if not isinstance(registry, Registry):
        raise TypeError(f"{path} is not a Registry")
    return registry


def _summary(item: object) -> str:
    """First line of the plugin's own docstring, else of its module's (a one-file plugin's story)."""
    own = item.__dict__.get("__doc__") if hasattr(item, "__dict__") else None
    module = sys.modules.get(getattr(item, "__module__", ""), None)
    for text in (own, getattr(module, "__doc__", None)):
        if text and text.strip():
            return text.strip().splitlines()[0]
    return ""


def _qualname(item: object) -> str:
    return f"{getattr(item, '__module__', '')}.{getattr(item, '__qualname__', repr(item))}"
