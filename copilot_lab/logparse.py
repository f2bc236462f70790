"""Log template mining in the spirit of Drain (He et al., ICWS'17).

Drain parses a log line in three steps: (1) mask obvious variables (numbers, hex ids, paths)
with regular expressions; (2) descend a fixed-depth tree keyed by the token count and the first
token; (3) in that leaf, join the most similar template if enough positions agree (similarity ≥
``sim``), turning the positions that differ into ``<*>``, else start a new template.

:class:`TemplateMiner` also remembers, per masked line, which positions the template wildcards,
so the value behind a wildcard (say the callee in "upstream call to <*> failed") stays available.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

WILDCARD = "<*>"
_VARIABLE = re.compile(r"(?<!\S)(?:[\w./:-]*\d[\w./:()-]*|0x[0-9a-f]+|/[\w./-]+|'[^']*')(?!\S)", re.IGNORECASE)


@dataclass
class Template:
    id: int
    tokens: list[str]
    level: str

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


@dataclass
class TemplateMiner:
    sim: float = 0.6
    templates: list[Template] = field(default_factory=list)
    _leaves: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    _seen: dict[str, int] = field(default_factory=dict)

    def add(self, line: str) -> Template:
        """The template of `line` (cached per masked line: most lines differ only in variables)."""
        key = _VARIABLE.sub(WILDCARD, line)
        hit = self._seen.get(key)
        if hit is not None:
            return self.templates[hit]
        masked = key.split()
        leaf = self._leaves.setdefault((len(masked), masked[0] if masked else ""), [])
        best, best_sim = None, -1.0
        for tid in leaf:
            candidate = self.templates[tid].tokens
            same = sum(a == b for a, b in zip(candidate, masked))
            score = same / max(len(masked), 1)
            if score > best_sim:
                best, best_sim = tid, score
        if best is not None and best_sim >= self.sim:
            template = self.templates[best]
            template.tokens = [a if a == b else WILDCARD for a, b in zip(template.tokens, masked)]
        else:
            template = Template(len(self.templates), masked, masked[0] if masked else "")
            self.templates.append(template)
            leaf.append(template.id)
        self._seen[key] = template.id
        return template

    def wildcard_values(self, template: Template, line: str) -> list[str]:
        """The values in `line` at the template's wildcard positions."""
        return [t.rstrip(":,") for t, w in zip(line.split(), template.tokens) if w == WILDCARD]
