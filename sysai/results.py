"""Results on disk: one folder per run with `results.json`, raw CSVs and PNG figures.

Experiments return a results object (a dataclass); :func:`to_jsonable` turns it into plain JSON
(numpy numbers, paths and NaN handled), :func:`finish` writes it and prints either the table or,
with ``--json``, the JSON alone on stdout so it can be piped.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from sysai.errors import UserError
from sysai.paths import default_out


def prepare_out(lab: str, command: str, out: str | Path | None) -> Path:
    """The results folder for one command run (created if missing)."""
    path = Path(out) if out is not None else default_out(lab, command)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UserError(f"--out {path}: exists and is not a folder") from None
    except PermissionError:
        raise UserError(f"--out {path}: permission denied") from None
    return path


def to_jsonable(obj: Any) -> Any:
    """Plain JSON types from dataclasses, numpy values, paths; NaN/inf become null."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def dumps(obj: Any) -> str:
    return json.dumps(to_jsonable(obj), indent=2, sort_keys=False)


def write_json(path: str | Path, obj: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(obj) + "\n")
    return path


def write_csv(path: str | Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Rows of dicts to CSV; the header is the union of keys in first-seen order."""
    rows = [to_jsonable(row) for row in rows]
    header: list[str] = []
    for row in rows:
        header.extend(k for k in row if k not in header)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def finish(results: Any, out: Path, as_json: bool, show: Callable[[], None]) -> Path:
    """Write `results.json` into `out`; print the JSON (``--json``) or call `show` for the table."""
    path = write_json(out / "results.json", results)
    if as_json:
        sys.stdout.write(dumps(results) + "\n")
    else:
        show()
        print(f"results: {out}/")
    return path
