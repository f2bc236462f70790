"""Layer tars, the whiteout-aware union, and the refusal of unsafe tar members."""

from __future__ import annotations

import io
import os
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sysai.errors import UserError
from trio_lab.layers import Layer, flatten, read_layer, union_listdir, union_lookup, write_layer
from trio_lab.model import DIR, FILE, Node, ancestors, is_under


def F(tag: int = 0) -> Node:
    return Node(FILE, 0o644, tag, digest=f"sha256:{tag}")


def D() -> Node:
    return Node(DIR, 0o755)


def layer(entries=None, whiteouts=(), opaque=()) -> Layer:
    nodes = dict(entries or {})
    for path in list(nodes) + list(whiteouts) + list(opaque):
        for up in ancestors(path):
            nodes.setdefault(up, D())
    return Layer(nodes, set(whiteouts), set(opaque))


@pytest.mark.task1_1
def test_top_layer_wins_and_lower_paths_show_through():
    base = layer({"/a": D(), "/a/x": F(1), "/a/y": F(2)})
    top = layer({"/a/x": F(3)})
    assert union_lookup([base, top], "/a/x") == (1, F(3))
    assert union_lookup([base, top], "/a/y") == (0, F(2))
    assert union_lookup([base, top], "/nope") is None


@pytest.mark.task1_1
def test_whiteout_deletes_a_file_and_a_whole_directory():
    base = layer({"/a/x": F(1), "/b/deep/z": F(2), "/b/keep": F(3)})
    top = layer(whiteouts=["/a/x", "/b/deep"])
    assert union_lookup([base, top], "/a/x") is None
    assert union_lookup([base, top], "/b/deep") is None
    assert union_lookup([base, top], "/b/deep/z") is None  # under a deleted directory
    assert union_lookup([base, top], "/b/keep") == (0, F(3))
    assert union_listdir([base, top], "/b") == ["keep"]


@pytest.mark.task1_1
def test_opaque_directory_hides_only_lower_contents():
    base = layer({"/d/old": F(1), "/e": F(4)})
    top = layer({"/d/new": F(2)}, opaque=["/d"])
    assert union_lookup([base, top], "/d/old") is None
    assert union_lookup([base, top], "/d/new") == (1, F(2))
    assert union_lookup([base, top], "/e") == (0, F(4))
    assert union_listdir([base, top], "/d") == ["new"]


@pytest.mark.task1_1
def test_a_file_replacing_a_directory_hides_its_lower_children():
    base = layer({"/a/x": F(1)})
    middle = layer({"/a": F(2)})
    top = layer({"/a/y": F(3)})  # a directory again, with new contents only
    assert union_lookup([base, middle], "/a/x") is None
    assert union_lookup([base, middle, top], "/a/x") is None
    assert union_lookup([base, middle, top], "/a/y") == (2, F(3))


# --- property: the union walk equals applying the layers one by one ---------------------------

NAMES = st.sampled_from(["a", "b", "c"])
PATHS = st.lists(NAMES, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))


@st.composite
def layers_strategy(draw):
    out = []
    for _ in range(draw(st.integers(1, 4))):
        files = draw(st.dictionaries(PATHS, st.integers(0, 9), max_size=5))
        dirs = draw(st.lists(PATHS, max_size=3))
        entries = {p: F(t) for p, t in files.items()}
        for d in dirs:
            entries.setdefault(d, D())
        # a file's path cannot also be another entry's ancestor within one layer
        entries = {p: n for p, n in entries.items() if not any(is_under(q, p) for q in entries if n.kind == FILE)}
        whiteouts = [w for w in draw(st.lists(PATHS, max_size=2))
                     if w not in entries and not any(is_under(w, p) and n.kind == FILE for p, n in entries.items())]
        opaque = [d for d in draw(st.lists(PATHS, max_size=2)) if entries.get(d, D()).kind == DIR and d not in whiteouts
                  and not any(is_under(d, p) and n.kind == FILE for p, n in entries.items())
                  and not any(is_under(d, w) or d == w for w in whiteouts)]
        out.append(layer(entries, whiteouts, opaque))
    return out


def apply_in_order(layers: list[Layer]) -> dict[str, Node]:
    """The reference: extract each layer over the previous result, like `docker load` does."""
    state: dict[str, Node] = {"/": D()}
    for lay in layers:
        for gone in lay.whiteouts:
            state = {p: n for p, n in state.items() if p != gone and not is_under(p, gone)}
        for top in lay.opaque:
            state = {p: n for p, n in state.items() if not is_under(p, top)}
        for path in sorted(lay.entries, key=lambda p: p.count("/")):
            node = lay.entries[path]
            if node.kind != DIR or (path in state and state[path].kind != DIR):
                state = {p: n for p, n in state.items() if not is_under(p, path)}
            state[path] = node
    return state


@pytest.mark.task1_1
@settings(max_examples=200, deadline=None)
@given(layers_strategy())
def test_union_walk_matches_extracting_layers_in_order(layers):
    expected = apply_in_order(layers)
    merged = {p: n for p, (_, n) in flatten(layers).items()}
    assert merged == expected


# --- tarballs ---------------------------------------------------------------------------------

def test_write_and_read_a_layer_with_whiteouts(tree, tmp_path):
    tar = write_layer(tmp_path / "l.tar", [(tree, "app")], whiteouts=["/app/gone.txt"], opaque=["/app/pkg/sub"])
    lay = read_layer(tar.read_bytes())
    assert lay.entries["/app/pkg/sub/mod.py"].size == len("VALUE = 41\n")
    assert lay.entries["/app/pkg/link.py"].target == "sub/mod.py"
    assert lay.whiteouts == {"/app/gone.txt"} and lay.opaque == {"/app/pkg/sub"}
    data = tar.read_bytes()
    start = lay.offsets["/app/pkg/sub/mod.py"]
    assert data[start:start + 11] == b"VALUE = 41\n"
    assert write_layer(tmp_path / "again.tar", [(tree, "app")], whiteouts=["/app/gone.txt"],
                       opaque=["/app/pkg/sub"]).read_bytes() == data  # deterministic


def _tar(*members: tarfile.TarInfo, data: bytes = b"x") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        for member in members:
            if member.isreg():
                member.size = len(data)
                archive.addfile(member, io.BytesIO(data))
            else:
                archive.addfile(member)
    return buf.getvalue()


def _member(name: str, kind=tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


@pytest.mark.parametrize("members, message", [
    ([_member("../evil")], "contains '..'"),
    ([_member("a/../../evil")], "contains '..'"),
    ([_member("/etc/passwd")], "absolute path"),
    ([_member("hard", tarfile.LNKTYPE, "../outside")], "contains '..'"),
    ([_member("hard", tarfile.LNKTYPE, "not/in/layer")], "not to a regular file earlier in this layer"),
    ([_member("a", tarfile.SYMTYPE, "b"), _member("a/x")], "not a directory"),
    ([_member("dev/sda", tarfile.BLKTYPE)], "device"),
    ([_member("dev/null", tarfile.CHRTYPE)], "device"),
    ([_member("fifo", tarfile.FIFOTYPE)], "device, FIFO"),
])
def test_unsafe_members_are_refused_with_a_clear_message(members, message):
    with pytest.raises(UserError, match=message):
        read_layer(_tar(*members), where="evil.tar")


def test_safe_relative_symlink_and_hard_link_are_accepted():
    lay = read_layer(_tar(_member("a/f"), _member("a/h", tarfile.LNKTYPE, "a/f"),
                          _member("a/s", tarfile.SYMTYPE, "../a/f")))
    assert lay.entries["/a/h"] == lay.entries["/a/f"] and lay.offsets["/a/h"] == lay.offsets["/a/f"]
    assert lay.entries["/a/s"].target == "../a/f"


def test_not_a_tar_is_a_user_error():
    with pytest.raises(UserError, match="not a tar"):
        read_layer(b"definitely not a tar archive" * 30, where="x.tar")


def test_symlinks_chained_across_layers_are_served_verbatim_and_extracted_as_links(tmp_path):
    from trio_lab.store import build_image, materialize

    lower, upper = tmp_path / "lower.tar", tmp_path / "upper.tar"
    lower.write_bytes(_tar(_member("a", tarfile.DIRTYPE), _member("a/up", tarfile.SYMTYPE, "..")))
    upper.write_bytes(_tar(_member("b", tarfile.SYMTYPE, "a/up/.."), _member("x", tarfile.SYMTYPE, "y"),
                           _member("y", tarfile.SYMTYPE, "x")))  # climbs above the root; a loop
    manifest = build_image(tmp_path / "img", [lower, upper], "links")
    root = materialize(tmp_path / "img", manifest, tmp_path / "root")
    assert os.readlink(root / "b") == "a/up/.." and os.readlink(root / "x") == "y"
