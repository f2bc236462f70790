"""Building an image in every format into a content-addressed store (what the registry serves).

Layer tarballs may be plain or gzip-compressed (OCI ``tar+gzip``); they are stored uncompressed
so that a lazy loader can reach one file with an HTTP Range request (eStargz and SOCI solve the
same problem for compressed layers with seekable gzip or a separate index).

``<store>/blobs/sha256/<hex>`` holds layer tars, their tables of contents, chunks, the flat
metadata index and the runtime blob + index; ``<store>/image.json`` is the manifest naming them.
Build is deterministic: the same layers give the same digests.
"""

from __future__ import annotations

import base64
import bisect
import gzip
import io
import json
import os
import tempfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from sysai.errors import UserError
from trio_lab.chunked import CHUNK_SIZE, build_chunked, data_blob
from trio_lab.codec import gzip_by_member, json_blob, parse_json_blob
from trio_lab.layers import Layer, flatten, read_layer, write_layer
from trio_lab.model import DIR, FILE, SYMLINK, Node, ancestors, sha256
from trio_lab.runtime import RuntimeImage, make_runtime
from trio_lab.trace import Read, write_trace

MANIFEST = "image.json"


class BlobStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        algo, _, hexdigest = digest.partition(":")
        if algo != "sha256" or len(hexdigest) != 64 or not all(c in "0123456789abcdef" for c in hexdigest):
            raise UserError(f"not a sha256 digest: {digest!r}")
        return self.root / "blobs" / "sha256" / hexdigest

    def put(self, data: bytes) -> str:
        digest = sha256(data)
        target = self.path(digest)
        if not target.exists():
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)
        return digest

    def put_json(self, obj: object, compress: bool = False) -> str:
        return self.put(json_blob(obj, compress))

    def get(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()

    def get_json(self, digest: str) -> dict:
        return parse_json_blob(self.get(digest), digest)


@dataclass
class LayerRef:
    digest: str  # the blob a pull downloads (tar+gzip when the image is compressed)
    size: int  # its size
    toc: str
    diff_id: str = ""  # the uncompressed tar (OCI "diff_id"), kept for building; "" = same as digest
    media: str = "tar"  # "tar" or "tar+gzip"

    @property
    def tar(self) -> str:
        return self.diff_id or self.digest


@dataclass
class Manifest:
    name: str
    layers: list[LayerRef]
    flat_index: str
    image_bytes: int  # sum of layer tar sizes: what `full` downloads
    flat_bytes: int  # unique chunk bytes of the flattened image
    files: int
    runtime_index: str | None = None
    runtime_blob_bytes: int = 0
    runtime_blob: str | None = None  # the blob's digest: its GET can start beside the index's
    inline: dict = field(default_factory=dict)  # digest → base64 bytes of small metadata (OCI 1.1 `data`)
    trace: str | None = None
    compressed: bool = False  # gzip layers, zstd chunks, zstd-framed runtime blob (trio_lab.codec)
    extra: dict = field(default_factory=dict)

    @classmethod
    def load(cls, store: Path) -> "Manifest":
        return cls.parse(read_manifest(store))

    @classmethod
    def parse(cls, raw: bytes) -> "Manifest":
        data = json.loads(raw)
        data["layers"] = [LayerRef(**ref) for ref in data["layers"]]
        return cls(**data)

    def save(self, store: Path) -> None:
        (Path(store) / MANIFEST).write_text(json.dumps(asdict(self), indent=2) + "\n")


def read_manifest(store: Path) -> bytes:
    path = Path(store) / MANIFEST
    if not path.is_file():
        raise UserError(f"no image at {store} (missing {MANIFEST}); build one with `sysai trio build`")
    return path.read_bytes()


def manifest_digest(store: Path) -> str:
    """The digest a mount pins the image by (the registry serves the manifest under it)."""
    return sha256(read_manifest(store))


class ImageContent:
    """Reads file bytes of the merged image straight from its layer tars (build-time helper)."""

    def __init__(self, store: BlobStore, layer_refs: list[LayerRef], layers: list[Layer]):
        self.layers = layers
        self.merged = flatten(layers)
        self._tars = [store.path(ref.tar) for ref in layer_refs]

    def nodes(self) -> dict[str, Node]:
        return {p: n for p, (_, n) in self.merged.items()}

    def read(self, path: str, offset: int = 0, length: int | None = None) -> bytes:
        index, node = self.merged[path]
        length = node.size - offset if length is None else min(length, node.size - offset)
        with open(self._tars[index], "rb") as fh:
            fh.seek(self.layers[index].offsets[path] + offset)
            return fh.read(max(length, 0))


def build_image(store_dir: Path, layer_tars: list[Path], name: str, chunk_size: int = CHUNK_SIZE,
                compress: bool = True) -> Manifest:
    """Store the layers (layered format) and their flattened, chunked form; with `compress`
    (the default, as registries ship images) layers are seekable tar+gzip and chunks zstd."""
    if not layer_tars:
        raise UserError("an image needs at least one layer")
    store = BlobStore(store_dir)
    refs, layers = [], []
    for tar in layer_tars:
        if not Path(tar).is_file():
            raise UserError(f"layer tarball not found: {tar}")
        data = Path(tar).read_bytes()
        if data[:2] == b"\x1f\x8b":  # tar+gzip, as OCI registries ship layers: store it uncompressed
            try:
                data = gzip.GzipFile(fileobj=io.BytesIO(data)).read()
            except (OSError, EOFError, zlib.error) as exc:
                raise UserError(f"{tar}: not a valid gzip stream ({exc})") from None
        layer = read_layer(data, where=str(tar))
        diff_id = store.put(data)
        if compress:
            blob, where = gzip_by_member(data)
            starts = sorted(where)
            for path, offset in layer.offsets.items():
                layer.members[path] = where[starts[bisect.bisect_right(starts, offset) - 1]]
            refs.append(LayerRef(store.put(blob), len(blob), store.put_json(layer.to_dict(), compress), diff_id,
                                 "tar+gzip"))
        else:
            refs.append(LayerRef(diff_id, len(data), store.put_json(layer.to_dict())))
        layers.append(layer)
    content = ImageContent(store, refs, layers)
    chunked, chunks = build_chunked(content.nodes(), content.read, chunk_size, compress=compress)
    for piece in chunks.values():
        store.put(piece)
    chunked.blob = store.put(data_blob(chunked, chunks))
    files = sum(1 for n in chunked.nodes.values() if n.kind == FILE)
    manifest = Manifest(name, refs, store.put_json(chunked.to_dict(), compress), sum(r.size for r in refs),
                        sum(len(c) for c in chunks.values()), files, compressed=compress)
    manifest.save(store_dir)
    return manifest


def build_from_dir(store_dir: Path, tree: Path, name: str, prefix: str = "", compress: bool = True) -> Manifest:
    """One directory tree → a one-layer image (plus the flat format)."""
    if not Path(tree).is_dir():
        raise UserError(f"not a directory: {tree}")
    with tempfile.TemporaryDirectory() as tmp:
        tar = write_layer(Path(tmp) / "layer.tar", [(Path(tree), prefix)])
        return build_image(store_dir, [tar], name, compress=compress)


def load_content(store_dir: Path, manifest: Manifest) -> ImageContent:
    store = BlobStore(store_dir)
    layers = [Layer.from_dict(store.get_json(ref.toc)) for ref in manifest.layers]
    return ImageContent(store, manifest.layers, layers)


INLINE_MAX = 64 * 1024  # bytes of runtime index the manifest carries itself (compressed images: all here)


def add_runtime(store_dir: Path, manifest: Manifest, reads: list[Read]) -> RuntimeImage:
    """Build the TrIO runtime image from a trace and record it in the manifest."""
    store = BlobStore(store_dir)
    content = load_content(store_dir, manifest)
    nodes = content.nodes()
    sizes = {p: n.size for p, n in nodes.items() if n.kind == FILE}
    digests = {p: n.digest for p, n in nodes.items() if n.kind == FILE}
    runtime, blob = make_runtime(reads, sizes, digests, content.read, compress=manifest.compressed,
                                 nodes=nodes)
    store.put(blob)
    index = json_blob(runtime.to_dict(), manifest.compressed)
    manifest.runtime_index = store.put(index)
    # OCI 1.1 lets a descriptor carry small content in `data`: the index then comes with the
    # manifest instead of one round trip later (the start waits for it)
    manifest.inline = {manifest.runtime_index: base64.b64encode(index).decode()} if len(index) <= INLINE_MAX else {}
    manifest.runtime_blob_bytes = runtime.blob_size
    manifest.runtime_blob = runtime.blob_digest
    manifest.trace = str(write_trace(Path(store_dir) / "startup.trace", reads).name)
    manifest.save(store_dir)
    return runtime


def materialize(store_dir: Path, manifest: Manifest, dest: Path) -> Path:
    """Write the merged image as a plain directory tree (for native runs and comparisons)."""
    content = load_content(store_dir, manifest)
    return extract_tree(content.nodes(), content.read, dest)


def extract_tree(nodes: dict[str, Node], read: Callable[[str], bytes], dest: Path) -> Path:
    """Write `nodes` below `dest` without ever following a symlink of the image.

    This is the one place where an image's links could act on the host: a link ``/etc →
    /host/dir`` followed by a file ``/etc/passwd`` would write outside `dest`. A merged image
    never has entries below a symlink, but a crafted one might, so every parent is checked
    with ``lstat`` and files are created with ``O_NOFOLLOW | O_EXCL``.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for path, node in sorted(nodes.items()):
        if path == "/":
            continue
        for up in ancestors(path)[:-1]:
            if (dest / up.lstrip("/")).is_symlink() or nodes.get(up, Node(DIR)).kind != DIR:
                raise UserError(f"extracting {path!r}: its parent {up!r} is a symlink or not a directory "
                                "(writing there could leave the root): refused")
        target = dest / path.lstrip("/")
        if node.kind == DIR:
            target.mkdir(mode=0o755, exist_ok=True)
            target.chmod(node.mode & 0o7777 or 0o755)
        elif node.kind == SYMLINK:
            os.symlink(node.target, target)  # the link itself; its target is never touched
        else:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, node.mode & 0o7777)
            with os.fdopen(fd, "wb") as fh:
                fh.write(read(path))
            os.utime(target, (node.mtime, node.mtime), follow_symlinks=False)
    return dest
