"""The options every lab command shares, declared once.

    @app.command()
    def compare(seed: Seed = 42, out: Out = None, quick: Quick = False, json: Json = False): ...

Conventions: ``--seed`` (default 42) makes runs repeatable; ``--out`` defaults to
``results/<lab>/<command>/``; ``--quick`` uses small sizes for demos and CI; ``--json`` prints
the results as JSON on stdout instead of the table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

DEFAULT_SEED = 42

Seed = Annotated[int, typer.Option("--seed", min=0, help="Random seed (≥ 0): same seed, same numbers.")]
Out = Annotated[
    Optional[Path],
    typer.Option("--out", help="Results folder (default: results/<lab>/<command>/).", show_default=False),
]
Quick = Annotated[bool, typer.Option("--quick", help="Small sizes, for demos and CI.")]
Json = Annotated[bool, typer.Option("--json", help="Print results as JSON on stdout instead of a table.")]


def _url(value: Optional[str]) -> Optional[str]:
    """An http(s) URL with a host (loopback-only rules are the command's own)."""
    from urllib.parse import urlparse

    if value is None:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise typer.BadParameter(f"expected an http(s) URL such as http://127.0.0.1:8000, got {value!r}")
    return value.rstrip("/")


# One type each for what several labs take: ports, URLs, CPU counts and plugin files.
Port = Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port on the bind address (0: any free port).")]
Url = Annotated[str, typer.Option("--url", callback=_url, help="Base URL of the server (http or https).")]
Cpus = Annotated[Optional[int], typer.Option("--cpus", min=1, help="CPUs for the local Ray cluster (default: all).",
                                             show_default=False)]
Plugin = Annotated[
    Optional[list[Path]],
    typer.Option("--plugin", help="A Python file that registers your own plugin (repeatable); then use its name.",
                 show_default=False),
]


def load_plugins(paths: Optional[list[Path]]) -> None:
    """Import each ``--plugin FILE``: its ``@REGISTRY.register`` decorators make its names known."""
    from sysai.registry import load_plugin_file

    for path in paths or ():
        load_plugin_file(path)
