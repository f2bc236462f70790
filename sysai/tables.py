"""Tables: one look for every lab, in the terminal (rich) and in reports (Markdown)."""

from __future__ import annotations

import math
from typing import Any, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table


# Pipes, logs and CI are not terminals: rich would wrap tables at 80 columns there.
PIPE_WIDTH = 140


def make_console(stderr: bool = False) -> Console:
    """A Rich console; wide enough for the labs' tables when output is not a terminal."""
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=PIPE_WIDTH)


def fmt(value: Any, digits: int = 3) -> str:
    """Numbers with `digits` significant figures, thousands separated; other values as text."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else ("yes" if value else "no")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if value != 0 and (abs(value) >= 10 ** digits or abs(value) < 10 ** -(digits - 1)):
            return f"{value:,.{digits - 1}e}" if abs(value) < 1 else f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(value)


def print_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    note: str | None = None,
    console: Console | None = None,
) -> None:
    """Print rows under a title; numeric cells right-aligned and formatted with :func:`fmt`."""
    console = console or make_console()
    table = Table(title=title, title_style="bold", header_style="bold cyan")
    numeric = [
        all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) if rows else False
        for i in range(len(columns))
    ]
    for column, is_number in zip(columns, numeric, strict=False):
        table.add_column(column, justify="right" if is_number else "left")
    for row in rows:
        table.add_row(*(escape(fmt(cell)) for cell in row))
    console.print(table)
    if note:
        console.print(note, style="dim")


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
