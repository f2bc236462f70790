# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 1 · TrIO — one flat blob, one page in the kernel
#
# The companion of [labs/trio.md](../trio.md): the same functions the `sysai trio` commands call
# (`trio_lab.experiments`, `trio_lab.report`), at quick size. Everything here is **measured** on
# real components — an HTTP registry with an emulated link, a FUSE mount when this machine has
# FUSE (otherwise an in-process replay of the trace, said in `mode`), the kernel's page-cache
# counters — on a shared machine, so times move from run to run; requests and bytes do not.

# %%
from pathlib import Path
import tempfile

from IPython.display import Image, display

from trio_lab.experiments import CompareConfig, TogetherConfig, compare, together
from trio_lab.loaders.base import LOADERS
from trio_lab.loaders.lazy_prefetch import merge_runs
from trio_lab.report import compare_note, table

out = Path(tempfile.mkdtemp(prefix="trio-notebook-"))
print("default loaders:", LOADERS.defaults())

# %% [markdown]
# ## 1 · Cold start of a real image under every default loader
# PyYAML as the start (`import yaml`), 20 ms RTT and 200 Mbit/s, the image compressed as
# registries ship it (gzip layers, zstd chunks), two containers, and the host page cache of those
# two containers measured in their own namespaces and memory cgroups.

# %%
cfg = CompareConfig(workload="yaml", containers=2, sweep_rtt_ms=[], sweep_bandwidth_mbps=[])
res = compare(cfg, out / "compare", seed=42)
columns, rows = table(res)
print(res.mode)
print(" | ".join(columns))
for row in rows:
    print(" | ".join(f"{x:.3g}" if isinstance(x, float) else str(x) for x in row))
print(compare_note(res))

# %%
for figure in res.figures:
    display(Image(filename=figure))

# %% [markdown]
# ## 2 · Requests and bytes: the two terms every loader pays
# `trio` makes one request for its runtime blob; the fair Nydus (`lazy-prefetch`) merges adjacent
# chunks into Range GETs; plain lazy loading pays one round trip per chunk or file.

# %%
for name, row in res.loaders.items():
    print(f"{name:14s} {row.requests:4d} requests  {row.bytes_fetched / 1e6:6.2f} MB  "
          f"{100 * row.fraction_of_image:5.1f} % of the image")

# %% [markdown]
# ## 3 · The host page cache: private mounts vs one shared mount vs the local disk
# Bytes charged to the containers' memory cgroups (`memory.stat`), cold each run. One mount per
# container means one copy of each page per container; a daemon-wide mount bind-mounted into
# every container root means one copy. "not available" names what this machine lacks.

# %%
host = res.cooperative["host"]
if host["available"]:
    for run in host["runs"]:
        print(f"{run['containers']} container(s), {run['mode']:8s}: {run['cgroup_bytes'] / 1e6:6.2f} MB "
              f"(fincore {run['resident_bytes'] / 1e6:.2f} MB)")
else:
    print("host page cache not available:", host["why"])

# %% [markdown]
# ## 4 · Two different images, one page in the kernel
# Two images on one base layer, one container each, on one daemon. With a mount per image a
# common file is two inodes, two copies; `content` gives each container an overlay root (its
# image's metadata tree over one content-addressed mount, `trio_lab/overlay.py`) and the kernel
# keeps the common files once.
# %%
pair = together(TogetherConfig(workloads=["yaml", "yaml-pygments"], loader="trio"), out / "together", seed=42)
for label, run in pair.runs.items():
    host = run["host"]
    held = f"{sum(host['cgroup_bytes']) / 1e6:.2f} MB" if host["available"] else f"n/a ({host['why']})"
    print(f"{label:8s} host page cache {held:>10s}, daemon cache {run['cache_bytes'] / 1e6:.2f} MB")
print(pair.content_why or "content run: overlay roots over one content mount")
# %% [markdown]
# ## 5 · Task 1.5, the chunk merger, on its own
# `merge_runs` groups `(digest, blob offset, size)` chunks into runs fetched with one Range GET
# each. Try other limits and gaps.

# %%
chunks = [("a", 0, 300), ("b", 300, 300), ("c", 700, 300), ("d", 1000, 2000)]
for max_bytes, gap in ((1000, 0), (1000, 100), (4000, 100)):
    print(max_bytes, gap, [[d for d, _, _ in run] for run in merge_runs(chunks, max_bytes, gap)])
