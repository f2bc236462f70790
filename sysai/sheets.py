"""Checked claims in the lab sheets: every number or outcome a sheet states is regenerated.

A sheet (``labs/*.md``) backs a claim with one of two HTML comments, invisible when rendered:

1. **Golden output** — the comment names a seeded command; the fenced block below it is what
   the command prints (lines in order; white space folded; ``...`` inside a line matches any text,
   for wall-clock figures)::

       <!-- expected-output: sysai llm-la compare --quick --seed 42 -->
       ```text
       │ llm_la      │ 4.59 │ ...
       ```

2. **A claim on the JSON results** — the command's ``--json`` output is parsed into ``r`` and the
   Python expression must hold (for measured outcomes: orderings, ratios with a margin)::

       <!-- expect: sysai trio compare --quick --json => r["trio"]["ready_s"] < r["full"]["ready_s"] -->

``tests/sysai/test_sheets.py`` runs every such command and fails when the sheet and the code no
longer agree, so a change that moves a number fails the suite until the sheet follows (the way
SimPy's documentation checks its examples' output).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

GOLDEN = re.compile(r"^<!--\s*expected-output:\s*(?P<command>.+?)\s*-->\s*$")
CLAIM = re.compile(r"^<!--\s*expect:\s*(?P<command>.+?)\s*=>\s*(?P<expr>.+?)\s*-->\s*$")
FENCE = re.compile(r"^(```|~~~)")


@dataclass(frozen=True)
class Check:
    sheet: Path
    line: int
    command: str  # after `sysai`
    expected: tuple[str, ...] = ()  # golden lines
    expr: str = ""  # claim on the JSON results

    @property
    def where(self) -> str:
        return f"{self.sheet.name}:{self.line}"


def sheet_checks(sheet: Path) -> list[Check]:
    """The checked claims of one sheet; a malformed one raises ValueError naming file:line."""
    lines = sheet.read_text(encoding="utf-8").splitlines()
    checks = []
    for i, line in enumerate(lines):
        golden, claim = GOLDEN.match(line.strip()), CLAIM.match(line.strip())
        if claim:
            checks.append(Check(sheet, i + 1, _command(claim["command"], sheet, i), expr=claim["expr"]))
        elif golden:
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j == len(lines) or not FENCE.match(lines[j].strip()):
                raise ValueError(f"{sheet}:{i + 1}: expected-output needs a fenced block right below it")
            k = j + 1
            while k < len(lines) and not FENCE.match(lines[k].strip()):
                k += 1
            if k == len(lines):
                raise ValueError(f"{sheet}:{j + 1}: the fenced block is never closed")
            expected = tuple(x for x in lines[j + 1:k] if x.strip())
            if not expected:
                raise ValueError(f"{sheet}:{j + 1}: the expected-output block is empty")
            checks.append(Check(sheet, i + 1, _command(golden["command"], sheet, i), expected=expected))
    return checks


def _command(text: str, sheet: Path, i: int) -> str:
    words = text.split()
    if not words or words[0] != "sysai":
        raise ValueError(f"{sheet}:{i + 1}: a checked command starts with `sysai`, got {text!r}")
    return " ".join(words[1:])


def _fold(line: str) -> str:
    return " ".join(line.split())


def _pattern(expected: str) -> re.Pattern:
    parts = [re.escape(part) for part in _fold(expected).split("...")]
    return re.compile(".*".join(parts))


def missing_lines(expected: tuple[str, ...], output: str) -> list[str]:
    """The expected lines not found in `output` in order (empty: the golden block matches)."""
    got = [_fold(x) for x in output.splitlines()]
    at, missing = 0, []
    for line in expected:
        pattern = _pattern(line)
        for k in range(at, len(got)):
            if pattern.fullmatch(got[k]):
                at = k + 1
                break
        else:
            missing.append(line)
    return missing
