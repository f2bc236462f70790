"""One page in the kernel for a file that several *different* images hold (issue 15 §4).

The page cache hangs off an inode. N containers of one image can share inodes by binding one
mount into every root; two images cannot, since each is its own tree. Real hosts solve this the
composefs way (podman, ostree): every file's *content* lives once in a content-addressed store,
and each image is a small metadata tree whose regular files point into it. Overlayfs does the
pointing (Linux ≥ 6.5, "data-only lower layers")::

    mount -t overlay overlay -o ro,metacopy=on,redirect_dir=follow,lowerdir=META::CONTENT ROOT

Every regular file in META is a sparse stub of the right size with two xattrs,
``trusted.overlay.metacopy`` (its data is elsewhere) and ``trusted.overlay.redirect`` =
``/<sha256 hex>`` (where, in CONTENT). A read in the container goes to CONTENT's inode, whose
page cache is then the same for both images. Here CONTENT is one FUSE mount of the TrIO
daemon (:class:`ContentFS`), listing every file of every image it serves by content digest, so
the lazy loaders and TrIO's runtime pages still feed it.

The metadata tree plays the part of composefs's EROFS image: built once from the flat index,
small (stubs are sparse), on local disk.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from sysai.errors import UserError
from trio_lab.model import DIR, FILE, SYMLINK, Node
from trio_lab.vfs import ImageFS

METACOPY = "trusted.overlay.metacopy"
REDIRECT = "trusted.overlay.redirect"


def content_name(digest: str) -> str:
    """A file's name in the content mount: its sha256 in hex."""
    return digest.removeprefix("sha256:")


def overlay_options(meta: str | Path, content: str | Path) -> str:
    return f"ro,metacopy=on,redirect_dir=follow,lowerdir={meta}::{content}"


def scratch_dir() -> str | None:
    """Where metadata trees go: a tmpfs when there is one (creating thousands of stubs with
    xattrs there takes ~0.1 s instead of ~2 s on a disk), else the default temp folder."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def build_meta_tree(nodes: dict[str, Node], dest: Path) -> Path:
    """The image as overlayfs metadata: directories and symlinks as they are, each non-empty
    regular file a sparse stub redirected to its content. Never follows a link of the image
    (files are created with O_NOFOLLOW | O_EXCL below directories made here)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for path, node in sorted(nodes.items()):
        target = dest / path.lstrip("/") if path != "/" else dest
        if node.kind == DIR:
            target.mkdir(exist_ok=True)
        elif node.kind == SYMLINK:
            os.symlink(node.target, target)
        elif node.kind == FILE:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                if node.size:
                    os.ftruncate(fd, node.size)
                    os.setxattr(fd, METACOPY, b"")
                    os.setxattr(fd, REDIRECT, ("/" + content_name(node.digest)).encode())
            except OSError as exc:
                raise UserError(f"cannot set overlay xattrs in {dest} ({exc.strerror}): "
                                "content sharing needs root and a file system with trusted.* xattrs") from None
            finally:
                os.close(fd)
    for path, node in sorted(nodes.items(), reverse=True):  # modes and times last: dirs may be read-only
        target = dest / path.lstrip("/") if path != "/" else dest
        if node.kind == SYMLINK:
            continue
        os.chmod(target, node.mode & 0o7777 or (0o755 if node.kind == DIR else 0o644))
        os.utime(target, (node.mtime, node.mtime))
    return dest


def overlay_support() -> tuple[bool, str]:
    """(True, "") when this kernel mounts an overlay with a data-only lower layer, tried in a
    throwaway mount namespace; else (False, one line saying what is missing)."""
    if os.geteuid() != 0:
        return False, "overlay mounts with trusted.* xattrs need root"
    if shutil.which("unshare") is None:
        return False, "unshare is not installed (util-linux)"
    with tempfile.TemporaryDirectory(prefix="sysai-trio-ovl-") as tmp:
        meta, content, root = (Path(tmp) / d for d in ("meta", "content", "root"))
        content.mkdir()
        root.mkdir()
        (content / "ab").write_bytes(b"data")
        try:
            build_meta_tree({"/": Node(DIR, 0o755), "/f": Node(FILE, 0o644, 4, digest="sha256:ab")}, meta)
        except UserError as exc:
            return False, str(exc)
        done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               'mount -t overlay overlay -o "$0" "$1" && cat "$1/f"',
                               overlay_options(meta, content), str(root)],
                              capture_output=True, text=True, timeout=30)
    if done.returncode != 0 or done.stdout != "data":
        return False, ("this kernel cannot mount overlayfs with a data-only lower layer (Linux ≥ 6.5, "
                       f"metacopy): {done.stderr.strip() or done.returncode}")
    return True, ""


class ContentFS:
    """The daemon's content-addressed view: ``/<sha256 hex>`` for every regular file of every
    image it serves, read through the loader of the first image holding that content.

    Same read API as :class:`trio_lab.vfs.ImageFS`, so the FUSE adapter serves it unchanged."""

    def __init__(self, images: list[tuple[ImageFS, dict[str, Node]]]):
        self.open_requests = 0
        self.files: dict[str, tuple[ImageFS, str, Node]] = {}
        for fs, nodes in images:
            for path, node in sorted(nodes.items()):
                if node.kind != FILE or not node.size:
                    continue
                name = content_name(node.digest)
                # the image whose loader has the start-up bytes at hand (trio: in its runtime blob) serves it
                if name not in self.files or (fs.loader.holds(path) and not self._held(name)):
                    self.files[name] = (fs, path, node)
        self.images = [fs for fs, _ in images]

    def _held(self, name: str) -> bool:
        fs, path, _ = self.files[name]
        return fs.loader.holds(path)

    def _file(self, path: str) -> tuple[ImageFS, str, Node]:
        found = self.files.get(path.lstrip("/"))
        if found is None or "/" in path.lstrip("/"):
            raise OSError(errno.ENOENT, "no such content", path)
        return found

    def getattr(self, path: str) -> dict[str, Any]:
        if path == "/":
            return {"st_mode": 0o040555, "st_nlink": 2, "st_size": 4096, "st_uid": 0, "st_gid": 0}
        fs, image_path, _ = self._file(path)
        return fs.getattr(image_path)

    def readdir(self, path: str) -> list[str]:
        if path != "/":
            raise OSError(errno.ENOTDIR, "not a directory", path)
        return [".", ".."] + sorted(self.files)

    def readlink(self, path: str) -> str:
        raise OSError(errno.EINVAL, "not a symlink", path)

    def read(self, path: str, size: int, offset: int) -> bytes:
        fs, image_path, _ = self._file(path)
        return fs.read(image_path, size, offset)

    def statfs(self) -> dict[str, int]:
        total = sum(node.size for _, _, node in self.files.values())
        return {"f_bsize": 4096, "f_frsize": 4096, "f_blocks": -(-total // 4096), "f_bfree": 0, "f_bavail": 0,
                "f_files": len(self.files), "f_ffree": 0, "f_namemax": 255}
