"""`sysai tour`: every lab's headline comparison at a small scale, in one report.

Each built lab returns a :class:`TourSection` (a table, a few sentences, figures); the tour
prints the tables as it goes and writes ``report.md``, ``index.html`` and ``results.json`` into
the output folder. Labs that do not exist yet are listed as "not built yet" — never with
placeholder numbers.
"""

from __future__ import annotations

import html
import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from sysai.catalog import LabStatus, discover
from sysai.errors import TaskNotDone
from sysai.results import write_json
from sysai.tables import fmt, make_console, markdown_table, print_table
from sysai.timing import Timer


@dataclass
class TourContext:
    out: Path  # this lab's folder inside the tour folder
    seed: int
    quick: bool


@dataclass
class TourSection:
    title: str
    summary: str
    columns: list[str]
    rows: list[list[Any]]
    figures: list[Path] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    #: "simulated" (model time of a seeded simulation: same seed, same numbers) or "measured"
    #: (real components timed on this machine: FUSE, HTTP, Ray - they vary from run to run).
    kind: str = "measured"


@dataclass
class TourEntry:
    lab: str
    system: str
    status: str  # "ok", "not built yet", "needs Task L.N", "failed: ..."
    seconds: float = 0.0
    section: TourSection | None = None


def run_tour(out: Path, seed: int, quick: bool, console: Console | None = None) -> list[TourEntry]:
    console = console or make_console()
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for status in discover():
        entries.append(_run_one(status, out, seed, quick, console))
    _write_report(out, entries, seed, quick)
    return entries


def _run_one(status: LabStatus, out: Path, seed: int, quick: bool, console: Console) -> TourEntry:
    info = status.info
    console.rule(f"[bold]Lab {info.number} · {info.system}[/bold] — {info.shows}")
    if status.lab is None or status.lab.tour is None:
        label = status.status if status.lab is None else "no tour yet"
        console.print(f"{info.system}: {label}")
        return TourEntry(info.name, info.system, label)
    ctx = TourContext(out=out / info.name, seed=seed, quick=quick)
    ctx.out.mkdir(parents=True, exist_ok=True)
    with Timer() as timer:
        try:
            section = status.lab.tour(ctx)
        except TaskNotDone as exc:  # a handout before its tasks are done: a pointer, not a failure
            console.print(f"{info.system}: {exc.message}")  # not str(): Ray's wrapper is the traceback
            return TourEntry(info.name, info.system, f"needs Task {exc.task}", timer.elapsed)
        except Exception as exc:  # one lab failing must not hide the others
            (ctx.out / "error.txt").write_text(traceback.format_exc())
            console.print(f"[red]{info.system} failed: {type(exc).__name__}: {exc}[/red]")
            return TourEntry(info.name, info.system, f"failed: {type(exc).__name__}: {exc}", timer.elapsed)
    print_table(section.title, section.columns, section.rows, note=section.summary, console=console)
    return TourEntry(info.name, info.system, "ok", timer.elapsed, section)


def _write_report(out: Path, entries: list[TourEntry], seed: int, quick: bool) -> None:
    scale = "quick" if quick else "small"
    intro = (f"Seed {seed}, {scale} scale. Every number below comes from this run. Sections marked *simulated* "
             "are model time from a seeded simulation (same seed, same numbers); sections marked *measured* timed "
             "real components (FUSE mounts, HTTP servers, a Ray cluster) on this machine and vary from run to run.")
    md = ["# sysai-labs tour\n", intro + "\n"]
    page = [f"<h1>sysai-labs tour</h1><p>{html.escape(intro)}</p>"]
    for entry in entries:
        md.append(f"## {entry.system}\n")
        page.append(f"<h2>{html.escape(entry.system)}</h2>")
        if entry.section is None:
            md.append(f"_{entry.status}_\n")
            page.append(f"<p><em>{html.escape(entry.status)}</em></p>")
            continue
        section = entry.section
        md += [f"**{section.title}** (*{section.kind}*, {entry.seconds:.1f} s)\n",
               markdown_table(section.columns, section.rows) + "\n"]
        md.append(section.summary + "\n")
        title, kind = html.escape(section.title), html.escape(section.kind)
        page.append(f"<h3>{title} (<em>{kind}</em>, {entry.seconds:.1f} s)</h3>")
        page.append(_html_table(section.columns, section.rows))
        page.append(f"<p>{html.escape(section.summary)}</p>")
        for figure in section.figures:
            rel = os.path.relpath(figure, out)
            md.append(f"![{figure.stem}]({rel})\n")
            page.append(f'<img src="{html.escape(rel)}" alt="{html.escape(figure.stem)}" style="max-width:48%">')
    (out / "report.md").write_text("\n".join(md))
    style = ("body{font-family:sans-serif;max-width:70em;margin:2em auto}"
             "td,th{padding:.2em .8em;border-bottom:1px solid #ddd}")
    (out / "index.html").write_text(
        f"<!doctype html><meta charset=utf-8><title>sysai-labs tour</title><style>{style}</style>" + "\n".join(page)
    )
    write_json(
        out / "results.json",
        {
            "seed": seed,
            "quick": quick,
            "labs": {e.lab: {"status": e.status, "seconds": e.seconds, "kind": e.section.kind if e.section else None,
                             **(e.section.results if e.section else {})} for e in entries},
        },
    )


def _html_table(columns: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"
