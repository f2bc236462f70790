"""Layered images: OCI-style layer tarballs merged by a whiteout-aware union (overlayfs rules).

A container image is an ordered stack of layers (bottom first). A path is looked up from the top
layer down; the first layer that has it wins. A layer deletes a lower path with a *whiteout*
file ``.wh.<name>`` next to it, and hides everything a directory had in lower layers with the
*opaque* marker ``.wh..wh..opq`` inside it (OCI image spec, "Representing Changes"). Because
each lookup may walk every layer and each layer is a separate download, layered images are
what TrIO and Nydus flatten.

Layer tars come from strangers, so :func:`read_layer` refuses members whose *names* could
escape the image root (``..``, absolute names, hard links to outside) and device files, each
with a one-line message naming the member. Symlink *targets* are data: ``/etc/localtime →
/usr/share/zoneinfo/UTC`` means "inside this image's root", and overlayfs, Nydus and the kernel
serve such links verbatim (a container resolves them in its own root). So does the mount here;
the only code that must not follow them is code that writes or reads on the host — extracting
an image to disk (:func:`trio_lab.store.extract_tree`) and walking a tree at build time
(:func:`write_layer` stores links as links and never follows one).
"""

from __future__ import annotations

import io
import os
import posixpath
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable

from sysai.errors import UserError
from trio_lab.model import DIR, FILE, SYMLINK, Node, ancestors, children_index, norm, parent, sha256

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


@dataclass
class Layer:
    """One layer's table of contents: its entries, deletions, and where file bytes sit in the tar."""

    entries: dict[str, Node] = field(default_factory=dict)
    whiteouts: set[str] = field(default_factory=set)  # paths this layer deletes from lower layers
    opaque: set[str] = field(default_factory=set)  # dirs whose lower-layer contents are hidden
    offsets: dict[str, int] = field(default_factory=dict)  # file path → byte offset of its data in the tar
    # gzip layers (trio_lab.codec): file path → (compressed offset, compressed length, tar offset)
    # of the gzip member holding it, so one file can be fetched and gunzipped alone
    members: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def children(self) -> dict[str, list[str]]:
        return children_index(self.entries)

    def to_dict(self) -> dict:
        return {
            "entries": {p: {**n.to_dict(), **({"offset": self.offsets[p]} if p in self.offsets else {})}
                        for p, n in sorted(self.entries.items())},
            "whiteouts": sorted(self.whiteouts),
            "opaque": sorted(self.opaque),
            **({"gzip": {p: list(m) for p, m in sorted(self.members.items())}} if self.members else {}),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Layer":
        layer = cls(whiteouts=set(data["whiteouts"]), opaque=set(data["opaque"]),
                    members={p: tuple(m) for p, m in data.get("gzip", {}).items()})
        for path, entry in data["entries"].items():
            layer.entries[path] = Node.from_dict(entry)
            if "offset" in entry:
                layer.offsets[path] = entry["offset"]
        return layer


# --- the union ---------------------------------------------------------------------------------

def union_lookup(layers: list[Layer], path: str) -> tuple[int, Node] | None:
    """The (layer index, node) that `path` resolves to in the stack, or None if it is absent.

    `layers` is bottom first. Walk from the top layer down: a layer that has the path wins; a
    layer that whites out the path or one of its ancestors, marks an ancestor opaque, or
    replaces an ancestor by a non-directory hides everything below it.
    """
    # BEGIN SOLUTION task1_1
    path = norm(path)
    above = ancestors(path)
    for index in range(len(layers) - 1, -1, -1):
        layer = layers[index]
        node = layer.entries.get(path)
        if node is not None:
            return index, node
        if path in layer.whiteouts:
            return None
        for up in above:
            if up in layer.whiteouts or up in layer.opaque:
                return None
            shadow = layer.entries.get(up)
            if shadow is not None and shadow.kind != DIR:
                return None
    return None
    # END SOLUTION


def union_listdir(layers: list[Layer], path: str, children: list[dict[str, list[str]]] | None = None) -> list[str]:
    """Names visible in directory `path` of the union (sorted)."""
    children = children if children is not None else [layer.children() for layer in layers]
    names: set[str] = set()
    for index in children:
        names.update(index.get(path, ()))
    base = "" if path == "/" else path
    return sorted(n for n in names if union_lookup(layers, f"{base}/{n}") is not None)


def flatten(layers: list[Layer]) -> dict[str, tuple[int, Node]]:
    """The merged view: every visible path → (layer index, node), walked from the root."""
    children = [layer.children() for layer in layers]
    top = union_lookup(layers, "/")
    merged = {"/": top if top is not None else (0, Node(DIR, 0o755))}
    stack = ["/"]
    while stack:
        directory = stack.pop()
        base = "" if directory == "/" else directory
        for name in union_listdir(layers, directory, children):
            path = f"{base}/{name}"
            merged[path] = union_lookup(layers, path)  # type: ignore[assignment]
            if merged[path][1].kind == DIR:
                stack.append(path)
    return merged


# --- reading and writing layer tarballs --------------------------------------------------------

def read_layer(source: bytes | BinaryIO, where: str = "layer") -> Layer:
    """Parse an uncompressed layer tar into a :class:`Layer`, refusing unsafe members."""
    fileobj = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    layer = Layer()
    try:
        archive = tarfile.open(fileobj=fileobj, mode="r:")
    except tarfile.TarError as exc:
        raise UserError(f"{where}: not a tar archive ({exc})") from None
    with archive:
        for member in archive:
            path = _safe_name(member.name, where)
            name = posixpath.basename(path)
            for up in ancestors(path):
                if layer.entries.get(up, Node(DIR)).kind != DIR:
                    raise UserError(f"{where}: member {member.name!r} lies below {up!r}, which is not a directory: "
                                    "refused")
            _add_parents(layer, path)
            if name == OPAQUE:
                layer.opaque.add(parent(path))
            elif name.startswith(WHITEOUT):
                layer.whiteouts.add(posixpath.join(parent(path), name[len(WHITEOUT):]))
            elif member.isdir():
                layer.entries[path] = Node(DIR, member.mode & 0o7777, 0, int(member.mtime))
            elif member.issym():  # served verbatim, absolute or not (see the module docstring)
                layer.entries[path] = Node(SYMLINK, 0o777, len(member.linkname), int(member.mtime), member.linkname)
            elif member.islnk():
                target = _safe_name(member.linkname, where, what="hard link target")
                if layer.entries.get(target, Node(DIR)).kind != FILE:
                    raise UserError(f"{where}: hard link {member.name!r} → {member.linkname!r} is not to a "
                                    "regular file "
                                    "earlier in this layer (it could reach outside the image): refused")
                layer.entries[path] = layer.entries[target]
                layer.offsets[path] = layer.offsets[target]
            elif member.isreg():
                data = archive.extractfile(member).read()  # type: ignore[union-attr]
                layer.entries[path] = Node(FILE, member.mode & 0o7777, member.size, int(member.mtime),
                                           digest=sha256(data))
                layer.offsets[path] = member.offset_data
            else:
                raise UserError(f"{where}: member {member.name!r} is a device, FIFO or special file: refused")
    return layer


def _safe_name(name: str, where: str, what: str = "member") -> str:
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UserError(f"{where}: {what} {name!r} has an absolute path: refused")
    if ".." in name.split("/"):
        raise UserError(f"{where}: {what} {name!r} contains '..': refused")
    return norm(name)


def _add_parents(layer: Layer, path: str) -> None:
    for up in ancestors(path):
        if up not in layer.entries:
            layer.entries[up] = Node(DIR, 0o755)


def write_layer(dest: Path, trees: Iterable[tuple[Path, str]] = (), whiteouts: Iterable[str] = (),
                opaque: Iterable[str] = (), dirs: Iterable[tuple[Path, str]] = ()) -> Path:
    """Write a deterministic layer tar: `dirs` (directory entries only, e.g. the parents of
    whiteouts, as `docker build` records them), each ``(tree, prefix)`` under `prefix`, then
    the whiteout and opaque markers. Owners are zeroed and members sorted: same input, same digest.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as archive:
        for real, name in sorted(dirs, key=lambda d: d[1]):
            _add_path(archive, Path(real), name)
        for root, prefix in trees:
            for path in _walk(Path(root)):
                rel = path.relative_to(root).as_posix()
                name = posixpath.join(prefix, rel) if rel != "." else prefix
                if name:
                    _add_path(archive, path, name)
        for path in sorted(whiteouts):
            _add_marker(archive, posixpath.join(parent(norm(path)).lstrip("/"), WHITEOUT + posixpath.basename(path)))
        for path in sorted(opaque):
            _add_marker(archive, posixpath.join(norm(path).lstrip("/"), OPAQUE))
    return dest


def _add_path(archive: tarfile.TarFile, path: Path, name: str) -> None:
    info = archive.gettarinfo(str(path), arcname=name)  # lstat: a symlink is stored, never followed
    if not (info.isdir() or info.isreg() or info.issym() or info.islnk()):
        raise UserError(f"{path}: not a regular file, directory or symlink: refused")
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if info.isreg():
        with open(path, "rb") as fh:
            archive.addfile(info, fh)
    else:
        archive.addfile(info)


def _add_marker(archive: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(b""))


def _walk(root: Path) -> list[Path]:
    out = [root]
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in dirnames + sorted(filenames):
            out.append(Path(dirpath) / name)
    return out
