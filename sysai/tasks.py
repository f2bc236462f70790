"""Graded tasks, minitorch-style.

A lab sheet says "Task 2.3: ... edit file X, pass `sysai check 2.3`". Behind it:

* the task is registered as a pytest marker ``task2_3`` in pyproject.toml, with a one-line
  description (``sysai check --list`` shows them);
* its tests carry ``@pytest.mark.task2_3``;
* the reference solution in the source sits between ``# BEGIN SOLUTION task2_3`` and
  ``# END SOLUTION``. ``sysai handout`` writes a student copy of the repository in which each such
  block is replaced by ``raise TaskNotDone("2.3")`` (a ``NotImplementedError`` that the CLI shows
  as one line pointing to the sheet), so the reference passes and the student stub fails (the test
  suite checks both).
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from sysai.errors import UserError
from sysai.paths import repo_root

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TASK_ID = re.compile(r"^(?:task)?(\d+)[._](\d+)$")
BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION (?P<task>task\d+_\d+)\s*$")
END = re.compile(r"^[ \t]*# END SOLUTION\s*$")

# What a handout contains: the code, the tests and the sheets, not results or virtualenvs.
HANDOUT_PARTS = ("pyproject.toml", "Makefile", "README.md", ".gitignore", "mkdocs.yml", "sysai", "trio_lab",
                 "llm_la_lab", "yuanrong_lab", "copilot_lab", "tests", "labs", "docs", "scripts", "benchmarks")


@dataclass(frozen=True)
class Task:
    marker: str
    description: str

    @property
    def number(self) -> str:
        lab, n = TASK_ID.match(self.marker).groups()  # type: ignore[union-attr]
        return f"{lab}.{n}"


def marker_for(task: str) -> str:
    """'2.3' or 'task2_3' → 'task2_3'."""
    match = TASK_ID.match(task.strip())
    if not match:
        raise UserError(f"task {task!r} is not of the form L.N (e.g. 2.3); see `sysai check --list`")
    return f"task{match.group(1)}_{match.group(2)}"


def registered_tasks(root: Path | None = None) -> list[Task]:
    """The taskL_N markers declared in pyproject.toml, in lab/task order."""
    root = root or repo_root()
    config = tomllib.loads((root / "pyproject.toml").read_text())
    lines = config["tool"]["pytest"]["ini_options"].get("markers", [])
    tasks = []
    for line in lines:
        name, _, description = line.partition(":")
        if TASK_ID.match(name.strip()) and name.strip().startswith("task"):
            tasks.append(Task(name.strip(), description.strip()))
    return sorted(tasks, key=lambda t: tuple(int(x) for x in t.number.split(".")))


def find_task(task: str, root: Path | None = None) -> Task:
    marker = marker_for(task)
    for known in registered_tasks(root):
        if known.marker == marker:
            return known
    raise UserError(f"no task {marker_for(task).removeprefix('task').replace('_', '.')} (see `sysai check --list`)")


def strip_solutions(text: str, only: str | None = None) -> tuple[str, int]:
    """Replace solution blocks (all, or only task `only`) by a stub raising ``TaskNotDone``."""
    out: list[str] = []
    stripped = 0
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        begin = BEGIN.match(lines[i])
        if begin is None or (only is not None and begin["task"] != only):
            out.append(lines[i])
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not END.match(lines[j]):
            if BEGIN.match(lines[j]):
                raise ValueError(f"nested solution block at line {j + 1}")
            j += 1
        if j == len(lines):
            raise ValueError(f"solution block opened at line {i + 1} is never closed")
        number = begin["task"].removeprefix("task").replace("_", ".")
        indent = begin["indent"]
        out.append(f"{indent}# Task {number}: your code here (see labs/); it replaces these two lines.\n")
        out.append(f"{indent}from sysai.errors import TaskNotDone\n")
        out.append(f'{indent}raise TaskNotDone("{number}")\n')
        stripped += 1
        i = j + 1
    return "".join(out), stripped


def solution_blocks(root: Path | None = None) -> dict[str, list[Path]]:
    """task marker → files holding a solution block for it."""
    root = root or repo_root()
    found: dict[str, list[Path]] = {}
    for path in _source_files(root):
        for line in path.read_text().splitlines():
            match = BEGIN.match(line)
            if match:
                found.setdefault(match["task"], [])
                if path not in found[match["task"]]:
                    found[match["task"]].append(path)
    return found


def write_handout(dest: Path, only: str | None = None, root: Path | None = None) -> int:
    """Copy the repository to `dest` with solutions stubbed; returns the number of blocks removed."""
    root = root or repo_root()
    if dest.exists() and any(dest.iterdir()):
        raise UserError(f"{dest} exists and is not empty: choose a new folder for the handout")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "results")
    for part in HANDOUT_PARTS:
        source = root / part
        if source.is_dir():
            shutil.copytree(source, dest / part, ignore=ignore)
        elif source.is_file():
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / part)
    total = 0
    for path in _source_files(dest):
        text, n = strip_solutions(path.read_text(), only)
        if n:
            path.write_text(text)
            total += n
    return total


def _source_files(root: Path) -> list[Path]:
    files = []
    for part in HANDOUT_PARTS:
        if part == "tests":
            continue
        base = root / part
        if base.is_dir():
            files += [p for p in sorted(base.rglob("*.py")) if "__pycache__" not in p.parts]
    return files
