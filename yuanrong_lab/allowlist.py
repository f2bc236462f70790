"""Which code the HTTP gateway may register: nothing a request names unless the user allowed it.

A gateway that imports whatever ``"module:function"`` a request names runs ``subprocess:getoutput``
for any web page the user visits (a ``text/plain`` POST needs no CORS preflight) — the class of
bug behind Ray's own dashboard CVE-2023-48022. So a target must be one of:

* a demo function: a public top-level function or class *defined in* :mod:`yuanrong_lab.functions`
  (not a name it imported, such as ``time`` or ``np``);
* a module under a ``--functions DIR`` the user named when starting the gateway; the file is read
  (with :mod:`ast`, never executed here) to check the name is a top-level ``def``/``class``, and the
  instance imports it from that file;
* an installed entry point of group ``yuanrong.functions`` (``[project.entry-points."yuanrong.functions"]``
  in a package's pyproject.toml): installing a package is the user's own decision.

Everything else is refused with :class:`Refused` (the gateway answers 403 with the message).
"""

from __future__ import annotations

import ast
import importlib.metadata
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yuanrong_lab.runtime.worker import FileTarget

DEMO_MODULE = "yuanrong_lab.functions"
ENTRY_POINT_GROUP = "yuanrong.functions"
_TARGET = re.compile(r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*):([A-Za-z_][A-Za-z0-9_]*)")


class Refused(Exception):
    """A target that is not allow-listed (HTTP 403)."""


class Malformed(ValueError):
    """A target that is not 'module:name' at all (HTTP 400)."""


def demo_functions() -> list[str]:
    """Import paths of the demo functions: what ``yuanrong_lab.functions`` itself defines."""
    import yuanrong_lab.functions as module

    return [
        f"{DEMO_MODULE}:{name}"
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ == DEMO_MODULE
    ]


def entry_point_targets() -> set[str]:
    return {ep.value.strip() for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


@dataclass(frozen=True)
class Allowlist:
    dirs: tuple[Path, ...] = ()

    @classmethod
    def with_dirs(cls, dirs: list[Path] | tuple[Path, ...]) -> Allowlist:
        from sysai.errors import UserError

        resolved = []
        for d in dirs:
            if not Path(d).is_dir():
                raise UserError(f"--functions {d}: not a directory")
            resolved.append(Path(d).resolve())
        return cls(tuple(resolved))

    def resolve(self, target: Any) -> str | FileTarget:
        """What the instance should load for `target`, or :class:`Refused` / :class:`Malformed`."""
        if not isinstance(target, str) or not (m := _TARGET.fullmatch(target)):
            raise Malformed(f"function target {target!r} must look like 'module:function'")
        module, name = m.groups()
        if module == DEMO_MODULE:
            if target in demo_functions():
                return target
            raise Refused(
                f"{target!r} is not a demo function (demo functions: "
                f"{', '.join(t.split(':')[1] for t in demo_functions())})"
            )
        for folder in self.dirs:
            found = _module_file(folder, module)
            if found is not None:
                if name not in _top_level_names(found):
                    raise Refused(f"{target!r}: {found} defines no top-level function or class {name!r}")
                return FileTarget(str(found), module, name)
        if target in entry_point_targets():
            return target
        where = f"a module under {', '.join(map(str, self.dirs))}" if self.dirs else "a module under a --functions DIR"
        raise Refused(
            f"target {target!r} is not allow-listed: register a demo function ({DEMO_MODULE}:echo, ...), "
            f"{where}, or an installed {ENTRY_POINT_GROUP!r} entry point"
        )


def _module_file(folder: Path, module: str) -> Path | None:
    """DIR/a/b.py or DIR/a/b/__init__.py for module 'a.b', only if it really lies inside DIR."""
    base = folder.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            real = candidate.resolve()  # a symlink out of DIR does not count
            if real.is_relative_to(folder):
                return real
    return None


def _top_level_names(path: Path) -> set[str]:
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, OSError) as exc:
        raise Refused(f"{path}: cannot be read as Python ({type(exc).__name__}: {exc})") from None
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
