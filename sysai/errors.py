"""One error type for everything a user can get wrong.

Raise :class:`UserError` for bad arguments and bad inputs (a missing file, a malformed trace row,
an unknown policy). The CLI prints its message on one line of stderr and exits with code 2; no
traceback unless ``--debug`` is given. Anything else is a bug and is reported as one.
"""

from __future__ import annotations

import re
from pathlib import Path

EXIT_USAGE = 2


class UserError(Exception):
    """Something the user can fix: the message says what and where."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class TaskNotDone(UserError, NotImplementedError):
    """Raised by a graded task's stub in a handout: code that needs the task points to it.

    It is a :class:`UserError` (one line, exit 2: ``error: this needs Task 2.1 (labs/llm-la.md §1)
    — run sysai check 2.1``) and a ``NotImplementedError`` (what the task's tests expect of a stub).
    """

    def __init__(self, task: str):
        # Some wrappers (Ray's task errors) rebuild an exception from its message: keep the number.
        found = re.search(r"\d+\.\d+", str(task))
        task = found.group(0) if found else str(task)
        self.task = task
        super().__init__(f"this needs Task {task} ({sheet_section(task)}) — run sysai check {task}")

    def __reduce__(self):  # crosses process boundaries (Ray, a FUSE daemon) as itself, not re-wrapped
        return (type(self), (self.task,))


def sheet_section(task: str) -> str:
    """Where a task is set: ``labs/<lab>.md §N`` (the ``## N · ...`` heading above ``**Task L.N**``)."""
    labs = Path(__file__).resolve().parents[1] / "labs"
    # Only the lab sheets: labs/README.md quotes a task as its example and is not where it is set.
    for sheet in sorted(p for p in labs.glob("*.md") if p.name != "README.md"):
        section = None
        for line in sheet.read_text(encoding="utf-8").splitlines():
            if line.startswith("## "):
                title = line[3:].strip()
                # "## 3 · Stale signals" and "## 3. Stale signals" are both §3
                number = re.match(r"(\d+)\s*[·.]\s", title)
                section = f"§{number.group(1)}" if number else f"“{title}”"
            if f"Task {task}" in line and "**" in line:
                return f"labs/{sheet.name}" + (f" {section}" if section else "")
    return "labs/README.md"
