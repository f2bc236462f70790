"""The attendee's path: a fresh handout is a complete starting point, and every command its sheets
show either works or says in one line which task it needs — never an internal error."""

import os
import re
import shlex
import subprocess
import sys

import pytest

from sysai.paths import repo_root
from sysai.tasks import write_handout

SHEETS = ("trio", "llm-la", "yuanrong", "copilot")
SHELL = ("bash", "console", "sh", "shell")
# Servers run until Ctrl-C, clients need one running, bench and live-compare are the long runs,
# and a --plugin file is one the attendee writes: the walk leaves these to people.
NOT_WALKED = re.compile(r"^sysai \S+ (serve|serve-engines|proxy|mount|mock-llm|bench|replay|invoke|live-compare)\b"
                        r"|--plugin ")
POINTER = re.compile(r"error: this needs Task \d+\.\d+ \(labs/\S+\.md[^()]*\) — run sysai check \d+\.\d+")
# A step whose input a stubbed step before it would have written (`trace` of an image never built)
MISSING_INPUT = re.compile(r"error: (no image at |trace file not found: |.* not found: )\S+.*")


def sheet_commands(sheet_text: str) -> list[str]:
    """The `sysai ...` command lines of a sheet's fenced shell blocks (continuations joined, comments
    and a trailing `&` dropped), in order."""
    commands, inside, pending = [], False, ""
    for line in sheet_text.splitlines():
        if line.startswith("```"):
            inside = not inside and line.strip("`").strip() in SHELL
            continue
        if not inside:
            continue
        line = pending + line.strip()
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        pending = ""
        command = re.sub(r"\s+#.*$", "", line.removeprefix("$ ")).removesuffix("&").strip()
        if command.startswith("sysai "):
            commands.append(command)
    return commands


WALK = [(sheet, command) for sheet in SHEETS
        for command in sheet_commands((repo_root() / "labs" / f"{sheet}.md").read_text())]


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


def test_the_walk_reads_every_sheets_commands():
    text = "```bash\nsysai a --x 1 \\\n    --y 2   # note\nls\nsysai b &\n```\nsysai c\n```python\nsysai d\n```\n"
    assert sheet_commands(text) == ["sysai a --x 1 --y 2", "sysai b"]
    for sheet in SHEETS:
        walked = [c for s, c in WALK if s == sheet and not NOT_WALKED.search(c)]
        assert walked, f"{sheet}.md: no command of its shell blocks is walked"


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("sheet, command", [w for w in WALK if not NOT_WALKED.search(w[1])],
                         ids=[f"{s}: {c[6:60]}" for s, c in WALK if not NOT_WALKED.search(c)])
def test_every_sheet_command_works_or_points_to_its_task_in_a_handout(handout, sheet, command):
    """In sheet order, in one handout (a step sees what the steps before it wrote), tasks not done."""
    done = _sysai(handout, *shlex.split(command)[1:])
    assert "Traceback" not in done.stderr + done.stdout and "internal error" not in done.stderr, done.stderr[-2000:]
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
        assert POINTER.fullmatch(lines[0]) or MISSING_INPUT.fullmatch(lines[0]), lines[0]
