"""The attendee's path: a fresh handout is a complete starting point, and each sheet's first
command either works or says in one line which task it needs — never an internal error."""

import os
import re
import shlex
import subprocess
import sys

import pytest

from sysai.tasks import write_handout

SHEET_COMMAND = re.compile(r"^(?:\$ )?(sysai [^#]+?)\s*(?:#.*)?$")


def first_command(sheet_text: str) -> str:
    """The first `sysai ...` line inside a fenced shell block of a sheet."""
    inside = False
    for line in sheet_text.splitlines():
        if line.startswith("```"):
            inside = not inside and line.strip("`").strip() in ("bash", "console", "sh", "shell")
            continue
        match = SHEET_COMMAND.match(line.strip()) if inside else None
        if match:
            return match.group(1)
    raise AssertionError("the sheet has no sysai command in a shell block")


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attendee") / "handout"
    assert write_handout(folder) >= 1
    return folder


def _sysai(handout, *args, timeout=240):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "200"}
    # `python -m` puts the handout first on sys.path: its stubbed packages shadow the installed ones
    return subprocess.run([sys.executable, "-m", "sysai", *args], cwd=handout, capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_handout_carries_what_the_sheets_link_to(handout):
    for part in ("docs/index.md", "mkdocs.yml", ".gitignore", "labs/README.md", "Makefile", "scripts/setup.sh"):
        assert (handout / part).exists(), part
    readme = (handout / "labs" / "README.md").read_text()
    start = readme.index("## Start here")
    assert "make setup" in readme[start:start + 600], "the attendee's first commands include setup inside the handout"
    done = _sysai(handout, "check", "--list")
    assert done.returncode == 0 and "1.1" in done.stdout, done.stderr


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("sheet", ["trio", "llm-la", "yuanrong", "copilot"])
def test_each_sheets_first_command_works_or_points_to_its_task(handout, sheet, tmp_path):
    command = first_command((handout / "labs" / f"{sheet}.md").read_text())
    args = [a if a != "results" and not a.startswith("results/") else str(tmp_path / a) for a in shlex.split(command)]
    done = _sysai(handout, *args[1:])
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr[-2000:]
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
        assert re.fullmatch(r"error: this needs Task \d+\.\d+ \(labs/\S+\.md[^()]*\) — run sysai check \d+\.\d+",
                            lines[0]), lines[0]
