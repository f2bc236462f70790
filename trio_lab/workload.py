"""The real workload: a Python environment as a container image, started by importing from it.

The image holds real installed packages copied from this interpreter's site-packages, one layer
per `pip install` step plus a last layer that deletes something (whiteouts), as a Dockerfile
would make it. "Start" is ``python -c "import numpy"`` with the image's ``/site`` first on
``sys.path`` (read through the mount; ``-I -S`` keeps the host's site-packages out), "ready"
is its exit. Without FUSE the recorded trace is replayed through the same read API instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sysai.errors import UserError
from trio_lab.layers import write_layer
from trio_lab.model import ancestors
from trio_lab.store import MANIFEST, Manifest, build_image

SITE = "site"  # the image directory that goes on sys.path


@dataclass(frozen=True)
class Workload:
    name: str
    layers: tuple[tuple[str, ...], ...]  # site-packages entries per layer, bottom first
    whiteouts: tuple[str, ...]  # image paths the last layer deletes
    start: str  # modules imported at start
    stale_start: str  # a different start, for the stale-trace experiment

    def command(self, root: str, modules: str | None = None) -> list[str]:
        code = f"import sys; sys.path.insert(0, {str(Path(root) / SITE)!r}); import {modules or self.start}"
        return [sys.executable, "-I", "-S", "-B", "-c", code]


WORKLOADS = {
    # CI/tour size: PyYAML starts, click is the rest of the image.
    "yaml": Workload("yaml", (("yaml", "_yaml"), ("click",)), ("/site/click/testing.py",),
                     "yaml", "yaml, click"),
    # The benchmark: a data-science environment (NumPy with its bundled OpenBLAS, the Matplotlib
    # stack, PyYAML, Pygments, Rich) whose start imports NumPy only, as most of an image is
    # never read at start (Slacker: 6.4 %).
    "numpy": Workload("numpy", (("numpy", "numpy.libs"),
                                ("matplotlib", "mpl_toolkits", "PIL", "pillow.libs", "fontTools", "contourpy",
                                 "kiwisolver"),
                                ("yaml", "_yaml"), ("pygments",), ("rich",)),
                      ("/site/numpy/_pyinstaller",), "numpy", "numpy, yaml, pygments.lexers.python"),
    # The same without the Matplotlib layer: half the image, a larger share of it read at start.
    "numpy-slim": Workload("numpy-slim", (("numpy", "numpy.libs"), ("yaml", "_yaml"), ("pygments",), ("rich",)),
                           ("/site/numpy/_pyinstaller",), "numpy", "numpy, yaml, pygments.lexers.python"),
    # A second small environment on yaml's base layer (for `together --quick`-size runs).
    "yaml-pygments": Workload("yaml-pygments", (("yaml", "_yaml"), ("pygments",)), (), "yaml, pygments.lexers.python",
                              "yaml, pygments"),
    # A second environment on the same base layer as numpy-slim (the NumPy layer and the
    # whiteout layer are byte-identical tars): Matplotlib and what `import matplotlib` needs.
    "matplotlib": Workload("matplotlib", (("numpy", "numpy.libs"),
                                          ("matplotlib", "mpl_toolkits", "PIL", "pillow.libs", "fontTools",
                                           "contourpy", "kiwisolver", "cycler", "dateutil", "packaging", "pyparsing")),
                           ("/site/numpy/_pyinstaller",), "matplotlib", "matplotlib.colors"),
}


def get_workload(name: str) -> Workload:
    if name not in WORKLOADS:
        raise UserError(f"unknown workload {name!r} (choose from: {', '.join(WORKLOADS)})")
    return WORKLOADS[name]


def site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def build_workload_image(store: Path, workload: Workload, compress: bool = True) -> Manifest:
    """Write the workload's layer tars from this interpreter's site-packages and build the image."""
    site = site_packages()
    with tempfile.TemporaryDirectory() as tmp:
        tars = []
        for i, entries in enumerate(workload.layers):
            trees = []
            for entry in entries:
                if not (site / entry).exists():
                    raise UserError(f"workload {workload.name}: {entry} is not installed in {site}")
                trees.append((site / entry, f"{SITE}/{entry}"))
            tars.append(write_layer(Path(tmp) / f"layer{i}.tar", trees))
        if workload.whiteouts:
            parents = {up for path in workload.whiteouts for up in ancestors(path) if up.startswith(f"/{SITE}")}
            dirs = [(site / Path(up).relative_to(f"/{SITE}"), up.lstrip("/")) for up in parents]
            tars.append(write_layer(Path(tmp) / "whiteouts.tar", whiteouts=workload.whiteouts, dirs=dirs))
        return build_image(store, tars, workload.name, compress=compress)


def run_start(workload: Workload, root: str, modules: str | None = None, timeout: float = 300) -> None:
    """Run the start command against an image root; raises if it does not reach "ready"."""
    done = subprocess.run(workload.command(root, modules), capture_output=True, text=True, timeout=timeout, cwd="/")
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        raise UserError(f"start of {workload.name} from {root} failed: {last}")


_NATIVE_PROBE = """
import sys
root, site, modules = sys.argv[1], sys.argv[2], sys.argv[3]
opened = []
sys.addaudithook(lambda event, args: opened.append(args[0])
                 if event == "open" and isinstance(args[0], str) and args[0].startswith(root) else None)
sys.path.insert(0, site)
for name in modules.split(","):
    __import__(name.strip())
files = set(opened) | {getattr(m, "__file__", None) or "" for m in list(sys.modules.values())}
ranges = []
with open("/proc/self/maps") as maps:  # what the dynamic linker mapped: (offset, length) per segment
    for line in maps:
        fields = line.split()
        if len(fields) >= 6 and fields[5].startswith(root + "/"):
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            ranges.append(f"{fields[5]}\\t{int(fields[2], 16)}\\t{hi - lo}")
            files.discard(fields[5])
print("\\n".join(ranges + [f"{f}\\t0\\t-1" for f in sorted(files) if f.startswith(root + "/")]))
"""


def native_trace(root: Path, workload: Workload, modules: str | None = None) -> list[tuple[str, int, int]]:
    """Without FUSE: what a native start opens (whole files, length -1) or maps (segments)."""
    site = str(Path(root) / SITE)
    done = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", _NATIVE_PROBE, str(root), site,
                           modules or workload.start], capture_output=True, text=True, timeout=300, cwd="/")
    if done.returncode != 0:
        raise UserError(f"native start of {workload.name} failed: {done.stderr.strip().splitlines()[-1:]}")
    out = []
    for line in done.stdout.splitlines():
        path, offset, length = line.split("\t")
        out.append(("/" + Path(path).relative_to(root).as_posix(), int(offset), int(length)))
    return out


# --- a per-machine build cache: an image is built once, like an image pulled once -------------

CACHE_VERSION = 3  # bump when the image format changes


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sysai" / "trio"


def fingerprint(workload: Workload, compress: bool) -> str:
    """Changes when the workload, the format or any installed file it packs changes."""
    h = hashlib.sha256(repr((CACHE_VERSION, workload, compress, sys.version)).encode())
    site = site_packages()
    h.update(str(site.stat().st_mtime_ns).encode())  # the whiteout layer records site/'s own entry
    for entry in sorted({e for layer in workload.layers for e in layer}):
        for dirpath, dirnames, names in os.walk(site / entry):
            dirnames.sort()
            for name in sorted(names):
                st = os.lstat(os.path.join(dirpath, name))
                h.update(f"{dirpath}/{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def cached_image(store: Path, workload: Workload, compress: bool = True, reuse: bool = True) -> tuple[Manifest, Path]:
    """Build the workload image into `store`, reusing this machine's cached build when the
    packed files have not changed (blobs are hard-linked: content-addressed, never modified).
    Returns the manifest and the cache folder (where a recorded trace can be kept)."""
    if not reuse:
        return build_workload_image(store, workload, compress), Path(store)
    folder = cache_root() / f"{workload.name}-{fingerprint(workload, compress)}"
    if not (folder / MANIFEST).is_file():
        tmp = Path(tempfile.mkdtemp(prefix=f".{workload.name}-", dir=_mkdir(cache_root())))
        try:
            build_workload_image(tmp, workload, compress)
            if not (folder / MANIFEST).is_file():
                shutil.rmtree(folder, ignore_errors=True)
                os.replace(tmp, folder)  # atomic: a concurrent run sees all of it or none
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    blobs = Path(store) / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    for blob in (folder / "blobs" / "sha256").iterdir():
        target = blobs / blob.name
        if not target.exists():
            try:
                os.link(blob, target)
            except OSError:
                shutil.copyfile(blob, target)
    shutil.copyfile(folder / MANIFEST, Path(store) / MANIFEST)
    return Manifest.load(store), folder


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
