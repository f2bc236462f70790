"""Trace files: readable, round-trippable, and malformed rows named by line."""

from __future__ import annotations

import pytest

from sysai.errors import UserError
from trio_lab.trace import Read, Tracer, read_trace, write_trace


def test_round_trip_and_tracer(tmp_path):
    tracer = Tracer()
    tracer.record("/a b/c.py", 0, 4096)
    tracer.record("/x", 10, 0)  # empty reads are not working set
    tracer.enabled = False
    tracer.record("/late", 0, 1)
    path = write_trace(tmp_path / "t.trace", tracer.reads())
    assert read_trace(path) == [Read("/a b/c.py", 0, 4096)]
    assert path.read_text().startswith("# trio trace v1")


@pytest.mark.parametrize("row", ["/a\t1", "a\t0\t1", "/a\tx\t1", "/a\t0\t0", "/a\t-1\t5"])
def test_malformed_rows_name_the_line(tmp_path, row):
    path = tmp_path / "bad.trace"
    path.write_text(f"# header\n/ok\t0\t1\n{row}\n")
    with pytest.raises(UserError, match=r"bad.trace:3: expected"):
        read_trace(path)


def test_missing_trace_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        read_trace(tmp_path / "nope.trace")
