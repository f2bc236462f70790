"""Where things are: the repository checkout and the default results folder."""

from __future__ import annotations

from pathlib import Path

from sysai.errors import UserError

RESULTS_ROOT = Path("results")


def repo_root() -> Path:
    """The checkout this package runs from (the package is installed editable by `make`)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "pyproject.toml").is_file() or not (root / "tests").is_dir():
        raise UserError(
            f"the sysai-labs checkout was not found next to {Path(__file__).parent}: "
            "graded tasks run from a clone of the repository (make test installs it editable)"
        )
    return root


def default_out(lab: str, command: str) -> Path:
    """`results/<lab>/<command>/`, relative to the current directory."""
    return RESULTS_ROOT / lab / command
