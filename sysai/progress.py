"""Progress bars for long work, on stderr (stdout stays clean for ``--json``).

Bars draw only on a terminal; in CI and pipes they stay silent.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

T = TypeVar("T")


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )


@contextmanager
def bar(description: str, total: int) -> Iterator["Bar"]:
    """``with bar("sweep", total=n) as b: ... b.advance()``"""
    console = Console(stderr=True)
    with _progress(console) as progress:
        yield Bar(progress, progress.add_task(description, total=total))


class Bar:
    def __init__(self, progress: Progress, task_id: int):
        self._progress = progress
        self._task = task_id

    def advance(self, steps: int = 1) -> None:
        self._progress.advance(self._task, steps)


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate `items` with a bar."""
    if total is None:
        total = len(items)  # type: ignore[arg-type]
    with bar(description, total) as b:
        for item in items:
            yield item
            b.advance()
