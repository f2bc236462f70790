"""The TrIO runtime image: arranging a trace into a page-aligned blob, and the extent index."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_lab.model import PAGE
from trio_lab.runtime import Extent, ExtentIndex, arrange, blob_size, build_blob
from trio_lab.trace import Read

P = PAGE


@pytest.mark.task1_3
def test_reads_are_widened_to_pages_merged_and_ordered_by_first_access():
    sizes = {"/b": 10 * P, "/a": 3 * P + 100}
    reads = [Read("/b", 5 * P + 10, 20), Read("/a", 0, 10), Read("/b", 0, 1), Read("/b", 5 * P + 4000, 200),
             Read("/a", 3 * P + 50, 10), Read("/a", P, 10)]
    assert arrange(reads, sizes) == [
        Extent("/b", 0, P, 0),
        Extent("/b", 5 * P, 2 * P, P),  # 5P+4000..5P+4200 crosses into page 6
        Extent("/a", 0, 2 * P, 3 * P),  # pages 0 and 1 touch: one extent
        Extent("/a", 3 * P, 100, 5 * P),  # the short tail page, clamped to the file size
    ]


@pytest.mark.task1_3
def test_unknown_paths_and_reads_past_the_end_are_ignored():
    assert arrange([Read("/dir", 0, 10), Read("/f", 50, 10)], {"/f": 20}) == []
    assert blob_size([]) == 0


@pytest.mark.task1_3
def test_every_extent_starts_page_aligned_in_the_blob():
    extents = arrange([Read("/x", 0, 5), Read("/y", 0, 5), Read("/z", P + 1, 1)], {"/x": 5, "/y": 7, "/z": 3 * P})
    assert [e.blob_offset for e in extents] == [0, P, 2 * P]
    assert all(e.file_offset % P == 0 for e in extents)


def _index():
    return ExtentIndex([Extent("/f", 0, P, 0), Extent("/f", 2 * P, 2 * P, 5 * P), Extent("/g", 0, 10, P)])


@pytest.mark.task1_2
def test_lookup_inside_one_extent():
    assert _index().lookup("/f", 100, 50) == [(100, 50, 100)]
    assert _index().lookup("/f", 2 * P + 7, 10) == [(2 * P + 7, 10, 5 * P + 7)]


@pytest.mark.task1_2
def test_lookup_spanning_a_hole_and_two_extents():
    assert _index().lookup("/f", P - 10, 2 * P) == [(P - 10, 10, P - 10), (P, P, None), (2 * P, P - 10, 5 * P)]


@pytest.mark.task1_2
def test_lookup_beyond_the_last_extent_and_in_unknown_files_is_a_hole():
    assert _index().lookup("/f", 4 * P, 100) == [(4 * P, 100, None)]
    assert _index().lookup("/f", 3 * P, 2 * P) == [(3 * P, P, 6 * P), (4 * P, P, None)]
    assert _index().lookup("/nope", 5, 10) == [(5, 10, None)]


@st.composite
def traced_files(draw):
    files = {}
    for name in draw(st.lists(st.sampled_from("abcd"), min_size=1, max_size=4, unique=True)):
        size = draw(st.integers(1, 6 * P))
        files[f"/{name}"] = bytes((ord(name) + i) % 251 for i in range(size))
    reads = []
    for _ in range(draw(st.integers(0, 12))):
        path = draw(st.sampled_from(sorted(files)))
        offset = draw(st.integers(0, len(files[path]) - 1))
        reads.append(Read(path, offset, draw(st.integers(1, 2 * P))))
    return files, reads


def _page_extents(reads, sizes):
    """One extent per traced page, pages shuffled in the blob: a layout independent of Task 1.3's
    arrange(), so Task 1.2 can be checked before 1.3 is done (and with many small extents)."""
    pages = sorted({(r.path, p) for r in reads if r.offset < sizes[r.path]
                    for p in range(r.offset // P, (min(r.offset + r.length, sizes[r.path]) - 1) // P + 1)})
    pages = pages[1::2] + pages[0::2]  # blob order differs from file order
    return [Extent(path, p * P, min(P, sizes[path] - p * P), i * P) for i, (path, p) in enumerate(pages)]


@pytest.mark.task1_2
@settings(max_examples=150, deadline=None)
@given(traced_files(), st.data())
def test_index_serves_exactly_the_file_bytes_and_covers_every_traced_read(case, data):
    files, reads = case
    sizes = {p: len(b) for p, b in files.items()}
    extents = _page_extents(reads, sizes)
    blob = build_blob(extents, lambda p, o, n: files[p][o:o + n])
    index = ExtentIndex(extents)
    for read in reads:  # everything traced is in the blob
        length = min(read.length, sizes[read.path] - read.offset)
        assert all(b is not None for _, _, b in index.lookup(read.path, read.offset, length))
    path = data.draw(st.sampled_from(sorted(files)))
    offset = data.draw(st.integers(0, sizes[path] - 1))
    length = data.draw(st.integers(1, sizes[path] - offset))
    segments = index.lookup(path, offset, length)
    assert sum(n for _, n, _ in segments) == length and segments[0][0] == offset
    for (start, n, where), nxt in zip(segments, segments[1:] + [None]):
        if nxt is not None:
            assert nxt[0] == start + n
        if where is not None:
            assert blob[where:where + n] == files[path][start:start + n]


def test_build_blob_pads_with_zeros():
    blob = build_blob([Extent("/a", 0, 3, 0), Extent("/b", 0, 2, P)], lambda p, o, n: b"x" * n)
    assert len(blob) == 2 * P and blob[:4] == b"xxx\0" and blob[P:P + 3] == b"xx\0"
