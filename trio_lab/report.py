"""Tables and figures from the lab's results objects (no measuring here, no printing)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sysai.plotting import color, figure

if TYPE_CHECKING:
    from trio_lab.experiments import CompareResults
    from trio_lab.trace import Read


def plot(res: "CompareResults", out: Path) -> list[Path]:
    names = list(res.loaders)
    figs = []
    path = out / "time_to_ready.png"
    with figure(path, title=f"Cold start of `{res.workload}` ({res.rtt_ms:g} ms RTT, {res.bandwidth_mbps:g} Mbit/s)",
                ylabel="time to ready (s)") as ax:
        total = [res.loaders[n].time_to_ready_s for n in names]
        prep = [res.loaders[n].prepare_s for n in names]
        ax.bar(names, prep, color=[color(i) for i in range(len(names))], alpha=0.45, label="at mount (prepare)")
        ax.bar(names, [t - p for t, p in zip(total, prep)], bottom=prep, color=[color(i) for i in range(len(names))],
               label="start until ready")
        for i, t in enumerate(total):
            ax.annotate(f"{t:.2f} s", (i, t), ha="center", va="bottom")
    figs.append(path)
    path = out / "bytes_fetched.png"
    with figure(path, title="Bytes fetched from the registry", ylabel="MB") as ax:
        ax.bar(names, [res.loaders[n].bytes_fetched / 1e6 for n in names], color=[color(i) for i in range(len(names))])
        ax.axhline(res.image_bytes / 1e6, color="black", linestyle="--",
                   label=f"image ({res.image_bytes / 1e6:.1f} MB)")
        ax.axhline(res.trace_bytes / 1e6, color="grey", linestyle=":",
                   label=f"read at start ({res.trace_bytes / 1e6:.1f} MB)")
        for i, n in enumerate(names):
            ax.annotate(f"{100 * res.loaders[n].fraction_of_image:.1f} %", (i, res.loaders[n].bytes_fetched / 1e6),
                        ha="center", va="bottom")
    figs.append(path)
    if any(p["axis"] in ("rtt", "bandwidth") for p in res.sweep):
        path = out / "sweep.png"
        with figure(path, title="Time to ready vs link", ncols=2) as (left, right):
            for i, n in enumerate(names):
                for ax, axis, key in ((left, "rtt", "rtt_ms"), (right, "bandwidth", "bandwidth_mbps")):
                    pts = sorted((p[key],
                                  p["time_to_ready_s"]) for p in res.sweep if p["loader"] == n and p["axis"] == axis)
                    if pts:
                        ax.plot(*zip(*pts), marker="o", color=color(i), label=n if ax is left else None)
            left.set_xlabel(f"RTT (ms) at {res.bandwidth_mbps:g} Mbit/s")
            right.set_xlabel(f"bandwidth (Mbit/s) at {res.rtt_ms:g} ms RTT")
            right.set_xscale("log")
            left.set_ylabel("time to ready (s)")
        figs.append(path)
    host = res.cooperative.get("host", {})
    if host.get("available"):
        figs.append(plot_host(host, out / "host_page_cache.png"))
    if "cache_bytes_shared" in res.cooperative:
        path = out / "cache_memory.png"
        c = res.cooperative
        groups = [("runtime page cache", c["page_cache_bytes_shared"], c["page_cache_bytes_private"]),
                  ("all cached content", c["cache_bytes_shared"], c["cache_bytes_private"])]
        if c.get("daemon_peak_rss_shared"):
            groups.append(("mount daemon peak RSS", c["daemon_peak_rss_shared"], c["daemon_peak_rss_private"]))
        with figure(path, title=f"Memory of {c['containers']} containers of one image", ylabel="MB") as ax:
            for j, (label, color_i) in enumerate((("shared (cooperative)", 3), ("private per container", 1))):
                xs = [i + (j - 0.5) * 0.38 for i in range(len(groups))]
                ax.bar(xs, [g[1 + j] / 1e6 for g in groups], width=0.38, color=color(color_i), label=label)
            ax.set_xticks(range(len(groups)), [g[0] for g in groups])
        figs.append(path)
    return figs


def table(res: "CompareResults") -> tuple[list[str], list[list]]:
    columns = ["loader", "time to ready s", "at mount s", "MB fetched", "% of image", "requests", "FUSE"]
    rows = [[n, r.time_to_ready_s, r.prepare_s, r.bytes_fetched / 1e6, 100 * r.fraction_of_image, r.requests, r.fuse]
            for n, r in res.loaders.items()]
    return columns, rows




def plot_host(host: dict, path: Path) -> Path:
    """Page cache of N containers by mode, from the kernel's counters (``cooperative.host``)."""
    labels = {"private": "one FUSE mount per container", "shared": "one mount bound into every root",
              "native": "same files on the local disk"}
    with figure(path, title="Host page cache of N containers (memory cgroups' counters)",
                ylabel="MB", xlabel="containers started together") as ax:
        for i, mode in enumerate(labels):
            pts = sorted((r["containers"], r["cgroup_bytes"] / 1e6) for r in host["runs"] if r["mode"] == mode)
            ax.plot(*zip(*pts), marker="o", color=color(i), label=labels[mode])
        ax.set_xticks(host["counts"])
    return path


def compare_note(res: "CompareResults") -> str:
    """The line under the compare table: sizes, speedups, daemon cache and host page cache."""
    speed = ", ".join(f"{k.replace('_', ' ')} {v:.1f}×" for k, v in res.speedup.items())
    c = res.cooperative
    note = f"image {res.image_bytes / 1e6:.1f} MB, read at start {res.trace_bytes / 1e6:.1f} MB" + (
        f"; {speed}" if speed else "")
    if "cache_bytes_shared" in c:
        note += (f"; {c['containers']} containers: runtime cache {c['cache_bytes_shared'] / 1e6:.1f} MB shared vs "
                 f"{c['cache_bytes_private'] / 1e6:.1f} MB private")
    host = c.get("host", {})
    if host.get("available"):
        b = host["host_cache_bytes"]
        note += (f"; host page cache ({host['cgroup']}): one {b['one'] / 1e6:.1f} MB, {c['containers']} on private "
                 f"mounts {b['private'] / 1e6:.1f} MB, on the shared mount {b['shared'] / 1e6:.1f} MB, native "
                 f"{b['native'] / 1e6:.1f} MB")
    elif host:
        note += f"; host page cache: not available ({host['why']})"
    return note


def trace_summary(reads: "list[Read]", top: int) -> tuple[str, list[list]]:
    """A trace's title line and its `top` files by bytes read."""
    per: dict[str, list[int]] = {}
    for r in reads:
        per.setdefault(r.path, [0, 0])
        per[r.path][0] += 1
        per[r.path][1] += r.length
    rows = sorted(([p, n, b] for p, (n, b) in per.items()), key=lambda row: -row[2])[:top]
    return f"{len(reads)} reads of {len(per)} files, {sum(r.length for r in reads):,} bytes", rows


def plot_bench(res, out: Path) -> list[Path]:
    """The bench's own figures: FUSE variants vs native, and the stale trace."""
    figs = []
    ok = [o for o in res.fuse_options if "warm_read_MBps" in o]
    if ok:
        path = out / "fuse_options.png"
        with figure(path, title="Warm reads through FUSE vs native", ylabel="× native", ncols=2) as (left, right):
            names = [o["variant"].replace(" (", "\n(").replace(" + ", "\n+ ").replace(", ", ",\n") for o in ok]
            left.bar(names, [o["warm_read_vs_native"] for o in ok], color=[color(i) for i in range(len(ok))])
            left.axhline(0.70, color="black", linestyle="--", label="Nydus FUSE ≈ 0.70× ext4")
            left.set_title("read-all throughput")
            right.bar(names, [o["warm_start_vs_native"] for o in ok], color=[color(i) for i in range(len(ok))])
            right.set_title("warm start speed")
            for ax in (left, right):
                ax.tick_params(axis="x", labelsize=9)
        figs.append(path)
    s = res.stale
    path = out / "stale_trace.png"
    with figure(path, title=f"Stale trace: traced `{s['trace_start']}`, started `{s['actual_start']}`",
                ylabel="time to ready (s)") as ax:
        labels = ["trio, fresh trace", "trio, stale trace", "lazy-flat"]
        values = [s["fresh_trio_s"], s["stale_trio_s"], s["lazy_flat_s"]]
        ax.bar(labels, values, color=[color(3), color(1), color(2)])
        ax.annotate(f"miss rate {100 * s['stale_miss_rate']:.0f} %", (1, s["stale_trio_s"]), ha="center", va="bottom")
    figs.append(path)
    return figs
