"""Startup traces: every ``(path, offset, length)`` the FUSE daemon served until "ready".

TrIO records the working set of a container's start once (with an eBPF tracker in the kernel;
here the FUSE daemon itself records its reads) and builds the runtime image from it. A trace is
a small text file a user can read, diff and edit: one read per line, tab-separated.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from sysai.errors import UserError

HEADER = "# trio trace v1: path<TAB>offset<TAB>length, in the order the reads arrived"


@dataclass(frozen=True)
class Read:
    path: str
    offset: int
    length: int


class Tracer:
    """Thread-safe recorder the read path calls; switched off once the start is ready."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._reads: list[Read] = []
        self._lock = threading.Lock()

    def record(self, path: str, offset: int, length: int) -> None:
        if self.enabled and length > 0:
            with self._lock:
                self._reads.append(Read(path, offset, length))

    def reads(self) -> list[Read]:
        with self._lock:
            return list(self._reads)


def write_trace(path: Path, reads: list[Read]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [HEADER] + [f"{r.path}\t{r.offset}\t{r.length}" for r in reads]
    path.write_text("\n".join(lines) + "\n")
    return path


def read_trace(path: Path) -> list[Read]:
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise UserError(f"trace file not found: {path}") from None
    reads = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        try:
            if len(fields) != 3 or not fields[0].startswith("/"):
                raise ValueError
            read = Read(fields[0], int(fields[1]), int(fields[2]))
            if read.offset < 0 or read.length <= 0:
                raise ValueError
        except ValueError:
            raise UserError(f"{path}:{number}: expected '/path<TAB>offset<TAB>length', got {line!r}") from None
        reads.append(read)
    return reads
