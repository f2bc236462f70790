"""Configs are dataclasses with help text and defaults; unknown keys are errors.

Declare a field with :func:`option` so its help text travels with it::

    @dataclass
    class ReplicaConfig:
        max_batch_size: int = option(256, "most sequences in one iteration")

:func:`from_mapping` builds a config from a dict (e.g. parsed YAML), rejecting unknown keys and
values of the wrong type with a message naming the key and where it came from.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

import yaml

from sysai.errors import UserError

C = TypeVar("C")


def option(default: Any, help: str, **kwargs: Any) -> Any:
    """A dataclass field with a default and a help text (mutable defaults are copied)."""
    metadata = {"help": help}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata, **kwargs)
    return dataclasses.field(default=default, metadata=metadata, **kwargs)


def describe(cls: type) -> list[tuple[str, str, str]]:
    """(name, default, help) for every field: for `--help` texts and docs."""
    rows = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = "(required)"
        rows.append((f.name, repr(default), f.metadata.get("help", "")))
    return rows


def from_mapping(cls: type[C], data: Mapping[str, Any] | None, where: str = "config") -> C:
    """Build dataclass `cls` from `data`; unknown keys and wrong types raise UserError."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise UserError(f"{where}: expected a mapping of keys to values, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise UserError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))} for {cls.__name__} "
            f"(known: {', '.join(fields)})"
        )
    hints = typing.get_type_hints(cls)
    values = {name: _coerce(value, hints[name], f"{where}: {name}") for name, value in data.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{where}: {exc}") from None


def load_yaml(cls: type[C], path: str | Path) -> C:
    """Read a YAML file into config dataclass `cls`."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UserError(f"config file not found: {path}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise UserError(f"{path}{line}: not valid YAML") from None
    return from_mapping(cls, data, where=str(path))


def replace(config: C, where: str = "override", **changes: Any) -> C:
    """A copy of `config` with `changes`, checked like :func:`from_mapping`."""
    merged = dataclasses.asdict(config)  # type: ignore[call-overload]
    merged.update(changes)
    return from_mapping(type(config), merged, where)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union:
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except UserError:
                continue
        raise UserError(f"{where}: {value!r} is not a valid {hint}")
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if isinstance(value, hint):
            return value
        return from_mapping(hint, value, where)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise UserError(f"{where}: expected a list, got {value!r}")
        inner = args[0] if args else Any
        items = [_coerce(v, inner, where) for v in value]
        return origin(items)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise UserError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if hint is float:
        if isinstance(value, str):
            value = _number_text(value, where)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(f"{where}: expected a whole number, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise UserError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise UserError(f"{where}: expected text, got {value!r}")
        return value
    return value


def _number_text(text: str, where: str) -> float:
    """YAML 1.1 (PyYAML) reads `1e9` as text; a number field accepts it."""
    try:
        return float(text)
    except ValueError:
        raise UserError(f"{where}: expected a number, got {text!r}") from None


def parse_assignment(text: str, form: str = "NAME.KEY=VALUE", example: str = "") -> tuple[str, str, Any]:
    """One ``--set NAME.KEY=VALUE`` (a plugin's option, the one key style of every lab) → (name, key, value)."""
    target, sep, raw = text.partition("=")
    name, dot, key = target.strip().partition(".")
    if not sep or not dot or not name or not key.strip():
        raise UserError(f"--set {text!r}: expected {form}" + (f", e.g. {example}" if example else ""))
    return name, key.strip(), scalar(raw.strip())


def scalar(text: str) -> Any:
    """A value as YAML reads it, but ``1e9`` is a number (PyYAML's YAML 1.1 makes it text)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    try:
        return yaml.safe_load(text) if text else text
    except yaml.YAMLError:
        return text
