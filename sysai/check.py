"""`sysai check TASK`: run one graded task's tests and print a pass/fail line per test."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from sysai.errors import UserError
from sysai.paths import repo_root
from sysai.tables import make_console
from sysai.tasks import Task, find_task


@dataclass
class Outcome:
    test: str
    passed: bool
    skipped: bool
    message: str
    details: str


def run_check(task: str, root: Path | None = None, console: Console | None = None) -> bool:
    """Run the tests marked for `task`; print one line per test; True when all pass."""
    root = root or repo_root()
    console = console or make_console()
    known = find_task(task, root)
    outcomes = run_marked_tests(known, root)
    if not outcomes:
        raise UserError(f"no tests are marked {known.marker} yet")
    console.print(f"[bold]Task {known.number}[/bold]: {known.description}")
    for outcome in outcomes:
        if outcome.skipped:
            console.print(f"  [yellow]SKIP[/yellow] {outcome.test} — {outcome.message}")
        elif outcome.passed:
            console.print(f"  [green]PASS[/green] {outcome.test}")
        else:
            console.print(f"  [red]FAIL[/red] {outcome.test} — {outcome.message}")
            for line in outcome.details.strip().splitlines()[-12:]:
                console.print(f"       {line}", style="dim", markup=False, highlight=False)
    passed = sum(o.passed for o in outcomes)
    failed = sum(not o.passed and not o.skipped for o in outcomes)
    verdict = "[green]task passed[/green]" if failed == 0 and passed else "[red]task not passed yet[/red]"
    console.print(f"{verdict}: {passed} passed, {failed} failed")
    return failed == 0 and passed > 0


def run_marked_tests(task: Task, root: Path) -> list[Outcome]:
    """Run pytest in `root` on the tests marked `task.marker`; outcomes from its JUnit report."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        command = [
            sys.executable, "-m", "pytest", "tests", "-m", task.marker, "-q", "--tb=short",
            "-p", "no:cacheprovider", f"--junitxml={report}",
        ]
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        completed = subprocess.run(command, cwd=root, capture_output=True, text=True, env=env)
        if not report.exists():
            raise UserError(f"pytest did not run (exit {completed.returncode}): {completed.stderr.strip()[-300:]}")
        return _parse_junit(report)


def _parse_junit(report: Path) -> list[Outcome]:
    outcomes = []
    for case in ET.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}".removeprefix("tests.")
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        skipped = case.find("skipped")
        if skipped is not None:
            outcomes.append(Outcome(name, False, True, skipped.get("message", ""), ""))
        elif problem is not None:
            message = (problem.get("message") or "").splitlines()[0:1]
            outcomes.append(Outcome(name, False, False, message[0] if message else "failed", problem.text or ""))
        else:
            outcomes.append(Outcome(name, True, False, "", ""))
    return outcomes
