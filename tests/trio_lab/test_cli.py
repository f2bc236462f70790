"""`sysai trio ...` end to end: results.json contract, bad input = one line + exit 2, the tour."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sysai.cli import main
from sysai.tour import TourContext
from trio_lab.trace import write_trace, Read


def _one_line_error(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and needle in err


def test_build_from_a_directory_with_a_trace(tmp_path, tree, capsys):
    trace = write_trace(tmp_path / "t.trace", [Read("/pkg/big.bin", 0, 5000)])
    assert main(["trio", "build", "--from-dir", str(tree), "--trace", str(trace), "--out", str(tmp_path / "o"),
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["files"] == 6 and res["runtime_extents"] == 1 and 0 < res["runtime_blob_bytes"] < 8192  # a zstd frame
    assert main(["trio", "build", "--from-dir", str(tree), "--trace", str(trace), "--uncompressed",
                 "--out", str(tmp_path / "p"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["runtime_blob_bytes"] == 8192  # two whole pages, page-aligned
    assert (tmp_path / "o" / "image" / "image.json").is_file()


def test_build_from_gzipped_layers_with_a_whiteout(tmp_path, tree, capsys):
    import gzip

    from trio_lab.layers import write_layer

    base = write_layer(tmp_path / "base.tar", [(tree, "")])
    top = write_layer(tmp_path / "top.tar", whiteouts=["/pkg/big.bin"])
    gz = tmp_path / "base.tar.gz"
    gz.write_bytes(gzip.compress(base.read_bytes()))
    assert main(["trio", "build", "--layer", str(gz), "--layer", str(top), "--uncompressed", "--out",
                 str(tmp_path / "o"),
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["layers"] == 2 and res["files"] == 5  # big.bin is deleted by the top layer
    assert res["flat_bytes"] < 100_000 < res["image_bytes"]
    (tmp_path / "bad.tar.gz").write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    _one_line_error(capsys, ["trio", "build", "--layer", str(tmp_path / "bad.tar.gz"), "--out", str(tmp_path / "p")],
                    "not a valid gzip")


@pytest.mark.parametrize("argv, needle", [
    (["trio", "build"], "exactly one of"),
    (["trio", "build", "--from-dir", "/no/such/dir"], "not a directory"),
    (["trio", "build", "--layer", "/no/such.tar"], "layer tarball not found"),
    (["trio", "build", "--workload", "nope"], "unknown workload"),
    (["trio", "compare", "--loaders", "full,nope"], "unknown loader 'nope'"),
    (["trio", "compare", "--containers", "0"], "--containers"),
    (["trio", "compare", "--fuse", "maybe"], "--fuse"),
    (["trio", "compare", "--eviction", "nope"], "unknown eviction policy 'nope'"),
    (["trio", "compare", "--cache-mb", "-1"], "--cache-mb"),
    (["trio", "mount", "/no/such/image", "/tmp"], "no image at"),
    (["trio", "compare", "--set", "lazy-prefetch.nope=1"], "unknown key(s) 'nope'"),
    (["trio", "compare", "--set", "lazy-prefetch.threads=many"], "threads"),
    (["trio", "compare", "--set", "oops"], "expected NAME.KEY=VALUE"),
    (["trio", "compare", "--set", "nope.k=1"], "unknown plugin 'nope'"),
    (["trio", "compare", "--plugin", "/no/such/plugin.py"], "plugin file not found"),
    (["trio", "mount", "/no/such/image", "/tmp", "--set", "trio.k=1"], "has no options"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, argv, needle):
    _one_line_error(capsys, argv + (["--out", str(tmp_path)] if argv[1] in ("build", "compare") else []), needle)


def test_trace_command_and_its_errors(tmp_path, capsys):
    path = write_trace(tmp_path / "t.trace", [Read("/a", 0, 10), Read("/a", 10, 10), Read("/b", 0, 5)])
    assert main(["trio", "trace", str(path)]) == 0
    assert "3 reads of 2 files" in " ".join(capsys.readouterr().out.split())
    (tmp_path / "bad.trace").write_text("/a\t0\n")
    _one_line_error(capsys, ["trio", "trace", str(tmp_path / "bad.trace")], "bad.trace:1")


@pytest.mark.timeout(120)
def test_compare_in_process_writes_the_results_contract(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["trio", "compare", "--quick", "--fuse", "off", "--no-sweep", "--containers", "2", "--starts", "3",
                 "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert isinstance(res["image_bytes"], int) and res["mode"].startswith("no FUSE")
    from trio_lab.loaders.base import LOADERS

    assert set(res["loaders"]) == set(LOADERS.defaults())
    for row in res["loaders"].values():
        assert row["time_to_ready_s"] > 0 and row["requests"] >= 1 and row["fuse"] is False
        runs = row["time_to_ready_runs_s"]
        assert len(runs) == 3 and row["time_to_ready_s"] == sorted(runs)[1]  # the median of three starts
    manifest = (out / "image" / "image.json").stat().st_size  # fetched over HTTP first, by every loader
    assert res["loaders"]["full"]["bytes_fetched"] == res["image_bytes"] + manifest
    # the start never looked beyond the metadata the runtime index (inline in the manifest) carries
    assert res["loaders"]["trio"]["requests"] == 2 < res["loaders"]["lazy-flat"]["requests"]  # manifest, blob
    coop = res["cooperative"]
    assert coop["containers"] == 2 and coop["cache_bytes_private"] == 2 * coop["cache_bytes_shared"] > 0
    assert (out / "time_to_ready.png").is_file() and (out / "bytes_fetched.png").is_file()
    assert (out / "startup.trace").read_text().count("\n") > 5


@pytest.mark.slow
@pytest.mark.fuse
@pytest.mark.timeout(170)
def test_tour_section_runs_the_real_start_over_fuse(tmp_path, need_fuse):
    from trio_lab.lab import LAB

    section = LAB.tour(TourContext(out=tmp_path, seed=1, quick=True))
    from trio_lab.experiments import loader_order
    from trio_lab.loaders.base import LOADERS

    assert [row[0] for row in section.rows] == loader_order(LOADERS.defaults())
    assert all(row[-1] is True for row in section.rows)  # mounted for real
    loaders = section.results["loaders"]
    assert loaders["trio"]["bytes_fetched"] < loaders["lazy-flat"]["bytes_fetched"] < loaders["full"]["bytes_fetched"]
    assert loaders["trio"]["requests"] == 2  # the manifest (the runtime index inline) and ONE blob
    assert all(p.is_file() for p in section.figures)


def test_mount_of_an_image_without_a_trace_points_at_record(tmp_path, store, capsys):
    (tmp_path / "mnt").mkdir()
    _one_line_error(capsys, ["trio", "mount", str(store), str(tmp_path / "mnt"), "--loader", "trio"],
                    f"sysai trio record {store} -- COMMAND")


PLUGIN = """
from trio_lab.loaders.base import LOADERS
from trio_lab.loaders.lazy_flat import LazyFlat


@LOADERS.register("student-flat")
class StudentFlat(LazyFlat):
    \"\"\"A student's loader from one file.\"\"\"
"""


def test_a_loader_from_one_file_runs_in_compare_with_plugin(tmp_path, capsys):
    plugin = tmp_path / "student.py"
    plugin.write_text(PLUGIN)
    assert main(["trio", "compare", "--quick", "--fuse", "off", "--no-sweep", "--no-host-cache", "--containers", "1",
                 "--loaders", "student-flat,trio", "--plugin", str(plugin), "--out", str(tmp_path / "o"),
                     "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res["loaders"]) == {"student-flat", "trio"} and res["loaders"]["student-flat"]["requests"] > 4


def test_a_plugin_loader_is_loaded_in_the_mount_daemon_too(tmp_path, store, registry, tree, need_fuse):
    from trio_lab.mounts import MountDaemon

    plugin = tmp_path / "student.py"
    plugin.write_text(PLUGIN)
    with MountDaemon(store, registry, "student-flat", plugins=[plugin]) as daemon:
        daemon.go()
        assert (Path(daemon.mountpoints[0]) / "pkg" / "sub" / "mod.py").read_bytes() == \
            (tree / "pkg" / "sub" / "mod.py").read_bytes()


