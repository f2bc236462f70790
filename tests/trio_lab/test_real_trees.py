"""Real trees as they come (issue 15 §7): Debian's tzdata tree, absolute symlinks served verbatim,
and `sysai trio record` tracing a command the lab did not write on an image the lab did not make."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest

from sysai.cli import main
from sysai.errors import UserError

ZONEINFO = Path("/usr/share/zoneinfo")
need_tzdata = pytest.mark.skipif(not (ZONEINFO / "Europe" / "Paris").is_file(),
                                 reason="Debian's tzdata is not installed (apt-get install tzdata)")


@need_tzdata
def test_build_from_the_tzdata_tree(tmp_path, capsys):
    # was: symlink '/localtime' → '/etc/localtime' is absolute and would point outside the mount: refused
    assert main(["trio", "build", "--from-dir", str(ZONEINFO), "--out", str(tmp_path / "o"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    files = sum(1 for p in ZONEINFO.rglob("*") if p.is_file() and not p.is_symlink())
    assert res["files"] == files
    from trio_lab.loaders.base import FlatTree
    from trio_lab.chunked import ChunkedImage
    from trio_lab.store import BlobStore, Manifest

    store = tmp_path / "o" / "image"
    flat = ChunkedImage.from_dict(BlobStore(store).get_json(Manifest.load(store).flat_index))
    tree = FlatTree(flat.nodes)
    assert tree.lookup("/localtime").target == os.readlink(ZONEINFO / "localtime")  # verbatim, absolute
    assert tree.lookup("/Cuba").target == "America/Havana"


def _tar(path: Path, *members: tarfile.TarInfo) -> Path:
    with tarfile.open(path, "w") as archive:
        for m in members:
            archive.addfile(m)
    return path


def _link(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def test_absolute_and_climbing_symlinks_are_served_verbatim(tmp_path):
    from trio_lab.layers import read_layer

    layer = read_layer(_tar(tmp_path / "l.tar", _link("etc/localtime", "/usr/share/zoneinfo/UTC"),
                            _link("a/up", "../../..")).read_bytes())
    assert layer.entries["/etc/localtime"].target == "/usr/share/zoneinfo/UTC"
    assert layer.entries["/a/up"].target == "../../.."


def test_extracting_never_writes_through_a_symlink(tmp_path):
    """A full pull extracted to disk must stay below its root whatever the links say."""
    from trio_lab.model import DIR, FILE, SYMLINK, Node
    from trio_lab.store import extract_tree

    outside = tmp_path / "outside"
    outside.mkdir()
    nodes = {"/": Node(DIR, 0o755), "/etc": Node(SYMLINK, 0o777, 0, 0, str(outside)),
             "/etc/passwd": Node(FILE, 0o644, 3)}
    with pytest.raises(UserError, match="'/etc/passwd'.*symlink"):
        extract_tree(nodes, lambda path: b"bad", tmp_path / "root")
    assert not any(outside.iterdir())
    ok = {"/": Node(DIR, 0o755), "/tz": Node(SYMLINK, 0o777, 0, 0, "/etc/localtime"), "/f": Node(FILE, 0o644, 2)}
    root = extract_tree(ok, lambda path: b"hi", tmp_path / "root2")
    assert os.readlink(root / "tz") == "/etc/localtime" and (root / "f").read_bytes() == b"hi"


@need_tzdata
def test_record_a_command_the_lab_did_not_write_then_start_it_from_the_trio_image(tmp_path, capsys, need_fuse):
    """`date` from glibc reads its zone file from $TZDIR: a start the lab knows nothing about."""
    import subprocess

    from sysai.http import serve_in_thread
    from trio_lab.blobserver import make_app
    from trio_lab.mounts import MountDaemon

    assert main(["trio", "build", "--from-dir", str(ZONEINFO), "--out", str(tmp_path / "o")]) == 0
    store = tmp_path / "o" / "image"
    capsys.readouterr()
    argv = ["env", "TZ=Asia/Tokyo", "TZDIR={root}", "date", "-d", "@0", "+%Z %H"]
    assert main(["trio", "record", str(store), "--json", "--"] + argv) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["stdout"] == "JST 09\n" and res["files"] == 1
    assert "/Asia/Tokyo\t0\t" in (store / "startup.trace").read_text()
    with serve_in_thread(make_app(store)) as url, MountDaemon(store, url, "trio") as daemon:
        daemon.go()
        root = daemon.mountpoints[0]
        done = subprocess.run([a.replace("{root}", root) for a in argv], capture_output=True, text=True, timeout=30)
        assert os.readlink(os.path.join(root, "localtime")) == os.readlink(ZONEINFO / "localtime")
    assert done.stdout == "JST 09\n"
    stats = daemon.result["containers"][0]
    assert stats["hit_bytes"] > 0 and stats["miss_bytes"] == 0  # the whole start came from the one blob


def test_record_says_what_is_wrong_in_one_line(tmp_path, store, capsys, need_fuse):
    for argv, needle in ((["--", "false"], "the command failed (exit 1"),
                         (["--", "no-such-command-xyz"], "command not found"),
                         (["--", "true"], "read nothing from the image")):
        assert main(["trio", "record", str(store)] + argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and needle in err, err
