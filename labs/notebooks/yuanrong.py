# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 3 · openYuanrong: serverless functions on Ray
#
# The companion of `labs/yuanrong.md`, at quick sizes. It calls the same functions as the CLI
# (`yuanrong_lab.experiments`, `yuanrong_lab.report`, `yuanrong_lab.bench`). Sections 1–2 are
# **simulations** (SimPy, seeded: the same numbers every run); section 3 **measures** a real Ray
# cluster started here and stopped at the end of its cell.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import Image, display

import yuanrong_lab.runtime as yr
from yuanrong_lab import experiments, report
from yuanrong_lab.bench import chain, cold_starts, percentile, warm_vs_raw
from yuanrong_lab.scheduler import Slot, two_level

out = Path(tempfile.mkdtemp(prefix="yuanrong-notebook-"))

# %% [markdown]
# ## 1 · Keep-alive: cold starts against idle memory-time (simulated; needs Tasks 3.1, 3.2)
#
# Every TTL and every histogram range of the sweep; the headline compares hybrid-histogram
# (ATC'20, "Serverless in the Wild") with a fixed TTL *at the same idle memory-time*.

# %%
ka = experiments.keepalive(quick=True, seed=42)
report.write_keepalive(ka, out)
print(report.keepalive_statement(ka))
display(Image(filename=ka.figures[0]))

# %%
rows = sorted(ka.policies.items(), key=lambda kv: kv[1]["idle_memory_gb_s"])
for name, row in rows:
    front = "front" if name in ka.pareto_overall else ""
    print(f"{name:22s} cold {row['cold_start_pct']:6.2f} %   p75 {row['p75_function_cold_start_pct']:5.1f} %   "
          f"idle {row['idle_memory_gb_s']:12,.0f} GB·s  {front}")

# %% [markdown]
# ## 2 · The autoscaler under a burst (simulated; needs Tasks 3.1, 3.3, 3.4)

# %%
scaled = experiments.autoscale(quick=True, seed=42)
report.write_autoscale(scaled, out)
for name, v in scaled.variants.items():
    print(f"{name:34s} p50 {v['p50_ms']:6.0f} ms   p99 {v['p99_ms']:8.0f} ms   "
          f"instances started {v['instances_started']}")
display(Image(filename=scaled.figures[0]))

# %% [markdown]
# ## 3 · Live on Ray: warm vs cold, by reference vs by value (measured; needs Tasks 3.1, 3.4)
#
# `yr.init()` starts a private local Ray (127.0.0.1, no dashboard); `yr.finalize()` stops it,
# also when something in between fails.

# %%
runtime = yr.init(cpus=2)
try:
    raw, warm = warm_vs_raw(runtime, 100)
    colds = cold_starts(runtime, 2)
    chains = [chain(runtime, size, stages=4, repeats=1) for size in (1_000, 1_000_000, 10_000_000)]
finally:
    yr.finalize()

print(f"raw Ray actor call p50 {percentile(raw, 50):.2f} ms, warm invoke p50 {percentile(warm, 50):.2f} ms, "
      f"cold start p50 {sorted(r['total_ms'] for r in colds)[len(colds) // 2]:.0f} ms")
fig, ax = plt.subplots(figsize=(6, 4))
sizes = [c["payload_mb"] for c in chains]
ax.loglog(sizes, [c["by_reference_s"] for c in chains], marker="o", label="by reference")
ax.loglog(sizes, [c["by_value_s"] for c in chains], marker="s", label="by value")
ax.set_xlabel("payload (MB)")
ax.set_ylabel("4-stage chain (s)")
ax.legend()
plt.show()

# %% [markdown]
# ## 4 · Two-level scheduling: the local scheduler's rule (pure; needs Task 3.5)

# %%
slots = [Slot(0, "n0", True), Slot(1, "n1", False), Slot(2, "n2", True)]
print(two_level({"n2": 100_000_000}, "n0", slots))  # the data's node is free: local
print(two_level({"n1": 100_000_000}, "n2", slots))  # the data's node is busy: the caller's node
print(two_level({"n1": 100_000_000}, "n1", slots))  # neither: handed up to the global scheduler
