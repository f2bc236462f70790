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
