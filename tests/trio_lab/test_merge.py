"""Task 1.5: the chunk merger of the fair Nydus (`merge_runs`), and merged reads end to end."""

from __future__ import annotations

import pytest

from trio_lab.loaders.lazy_prefetch import merge_runs

KB = 1024


@pytest.mark.task1_5
def test_adjacent_chunks_merge_up_to_the_size_limit():
    chunks = [("a", 0, 100), ("b", 100, 100), ("c", 200, 100), ("d", 300, 100)]
    assert merge_runs(chunks, 250) == [[("a", 0, 100), ("b", 100, 100)], [("c", 200, 100), ("d", 300, 100)]]
    assert merge_runs(chunks, 400) == [chunks]


@pytest.mark.task1_5
def test_runs_follow_blob_order_not_request_order_and_count_duplicates_once():
    chunks = [("c", 200, 100), ("a", 0, 100), ("b", 100, 100), ("a", 0, 100)]
    assert merge_runs(chunks, 1 << 20) == [[("a", 0, 100), ("b", 100, 100), ("c", 200, 100)]]


@pytest.mark.task1_5
def test_a_gap_is_bridged_only_up_to_max_gap_and_counts_toward_the_size():
    chunks = [("a", 0, 100), ("b", 150, 100)]  # a 50-byte gap
    assert merge_runs(chunks, 1000) == [[("a", 0, 100)], [("b", 150, 100)]]  # max_gap 0: adjacent only
    assert merge_runs(chunks, 1000, max_gap=50) == [chunks]
    assert merge_runs(chunks, 240, max_gap=50) == [[("a", 0, 100)], [("b", 150, 100)]]  # 250 bytes > 240


@pytest.mark.task1_5
def test_a_chunk_larger_than_the_limit_is_a_run_of_its_own():
    chunks = [("big", 0, 4 * KB), ("s", 4 * KB, 10)]
    assert merge_runs(chunks, KB) == [[("big", 0, 4 * KB)], [("s", 4 * KB, 10)]]
    assert merge_runs([], KB) == []


def test_lazy_prefetch_merges_adjacent_small_files_into_one_range_get(tmp_path):
    """Ten small files in one directory: an on-demand read brings all ten in one request."""
    from sysai.http import serve_in_thread
    from trio_lab.blobserver import make_app
    from trio_lab.cache import RuntimeCache
    from trio_lab.fetch import BlobClient
    from trio_lab.loaders.base import LOADERS, LoaderContext
    from trio_lab.store import Manifest, build_from_dir
    from trio_lab.vfs import ImageFS

    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(10):
        (tree / f"m{i}.py").write_text(f"X = {i}\n" * 50)
    build_from_dir(tmp_path / "s", tree, "small")
    with serve_in_thread(make_app(tmp_path / "s")) as url:
        client = BlobClient(url)

        def mount(options):
            ctx = LoaderContext(Manifest.load(tmp_path / "s"), client, RuntimeCache(), "c0")
            fs = ImageFS(LOADERS.create("lazy-prefetch", ctx, options={"prefetch": False, **options}))
            fs.loader.prepare()
            return fs

        for options, requests in (({}, 1), ({"amplify_kb": 0}, 10)):
            fs = mount(options)
            client.reset()
            for i in range(10):
                assert fs.read(f"/m{i}.py", 4096, 0) == (tree / f"m{i}.py").read_bytes()
            assert client.stats()["requests"] == requests, options
        fs = mount({})
        client.faults(corrupt=True)  # a flipped byte in the merged range: EIO, never wrong bytes
        with pytest.raises(OSError) as info:
            fs.read("/m3.py", 10, 0)
        assert info.value.errno == 5
