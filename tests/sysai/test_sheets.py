"""Every number a lab sheet states is regenerated from its seeded command (see sysai.sheets)."""

import json
import os
import shlex
import subprocess
import sys

import pytest

from sysai.paths import repo_root
from sysai.sheets import missing_lines, sheet_checks

SHEETS = sorted((repo_root() / "labs").glob("*.md"))
CHECKS = [check for sheet in SHEETS for check in sheet_checks(sheet)]
_OUTPUTS: dict[str, str] = {}  # one run per distinct command, shared by its claims


def _run(command: str, tmp_path_factory) -> str:
    if command not in _OUTPUTS:
        cwd = tmp_path_factory.mktemp("sheet")
        env = {**os.environ, "COLUMNS": "200"}
        done = subprocess.run([sys.executable, "-m", "sysai", *shlex.split(command)], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, f"`sysai {command}` failed:\n{done.stderr[-2000:]}"
        _OUTPUTS[command] = done.stdout
    return _OUTPUTS[command]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("check", CHECKS, ids=[c.where for c in CHECKS])
def test_sheet_claim_holds(check, tmp_path_factory):
    output = _run(check.command, tmp_path_factory)
    if check.expr:
        r = json.loads(output)
        assert eval(check.expr, {"r": r}), f"{check.where}: `{check.expr}` is false for `sysai {check.command}`"
    else:
        missing = missing_lines(check.expected, output)
        assert not missing, (f"{check.where}: `sysai {check.command}` no longer prints:\n" + "\n".join(missing)
                             + f"\n--- it printed:\n{output[-3000:]}")


def test_golden_matching_rules():
    output = "header\n│ llm_la   │  4.59 │ 12.3 s │\n│ rr │ 4.77 │ 9.9 s │\nfooter"
    assert missing_lines(("│ llm_la │ 4.59 │ ... │", "│ rr │ 4.77 │ ... s │"), output) == []
    assert missing_lines(("│ rr │ 4.77 │ ... │", "│ llm_la │ 4.59 │ ... │"), output) == ["│ llm_la │ 4.59 │ ... │"], \
        "lines must appear in order"
    assert missing_lines(("│ llm_la │ 4.60 │ ... │",), output) == ["│ llm_la │ 4.60 │ ... │"], "numbers match exactly"


def test_malformed_checks_name_file_and_line(tmp_path):
    sheet = tmp_path / "x.md"
    sheet.write_text("text\n<!-- expected-output: sysai llm-la compare -->\nno fence\n")
    with pytest.raises(ValueError, match=r"x.md:2: expected-output needs a fenced block"):
        sheet_checks(sheet)
    sheet.write_text("<!-- expect: python -c 1 => True -->\n")
    with pytest.raises(ValueError, match=r"x.md:1: a checked command starts with `sysai`"):
        sheet_checks(sheet)
    sheet.write_text("<!-- expect: sysai trio compare --json => r['a'] < r['b'] -->\n")
    (check,) = sheet_checks(sheet)
    assert check.command == "trio compare --json" and check.expr == "r['a'] < r['b']"


@pytest.mark.parametrize("sheet", ["trio", "llm-la", "yuanrong", "copilot"])
def test_every_sheet_backs_its_numbers_and_has_an_extend_task(sheet):
    path = repo_root() / "labs" / f"{sheet}.md"
    assert len(sheet_checks(path)) >= 3, f"{path.name}: its numbers need checked blocks (sysai/sheets.py)"
    assert "extend" in path.read_text().lower(), f"{path.name} needs an extend task"
