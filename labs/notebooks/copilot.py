# %% [markdown]
# # Lab 4 · EulerCopilot — multi-agent root-cause analysis (notebook)
#
# The companion of `labs/copilot.md`, at quick sizes. It calls the same functions as the CLI
# (`copilot_lab.experiments`, `copilot_lab.report`, `copilot_lab.bench`): what you see here is what
# `sysai copilot evaluate --quick` and `sysai copilot bench --quick` print. Needs Tasks 4.1–4.5
# (in a handout, a cell that reaches a stub says which task it needs).

# %%
from pathlib import Path
import tempfile

from IPython.display import Image, display

from copilot_lab import experiments, report
from copilot_lab.bench import QUICK, run_bench
from sysai.plotting import color, figure

out = Path(tempfile.mkdtemp(prefix="copilot-notebook-"))
SEED = 42

# %% [markdown]
# ## 1. Break the shop: packet loss at `payment`
# The loudest latency is not the root's: the fault propagates to its caller.

# %%
case = experiments.inject("packet_loss", "payment", "shop", 1.0, SEED, out / "case1")
{kind: v["service"] for kind, v in case["loudest"].items()}

# %% [markdown]
# ## 2. Diagnose it from the files (the same call as `sysai copilot diagnose`)

# %%
files = case["files"]
diagnosis = experiments.diagnosis(
    Path(files["metrics"]), Path(files["logs"]), Path(files["traces"]), Path(files["topology"]), case["onset_time"]
)
report.show_diagnosis(diagnosis)

# %% [markdown]
# ## 3. The headline comparison: each juror vs the coordinator (70 shop cases, eval split)

# %%
results, records, raw = experiments.evaluation(70, "shop", "eval", 30, 0.7, SEED)
report.evaluation_files(results, records, raw, out / "evaluate")
report.show_evaluation(results)
for name in results.figures:
    display(Image(filename=str(out / "evaluate" / name)))

# %% [markdown]
# ## 4. Telemetry from elsewhere: PyRCA's simulator next to RCAEval's BARO and n-sigma
# `bench --quick`: 14 own cases and 15 PyRCA cases, with and without the call graph.

# %%
bench = run_bench(QUICK, SEED)
report.show_bench(bench)

# %%
sources = list(bench.sources)
methods = ["multi_agent", "metric", "baro", "nsigma", "sli_corr"]
path = out / "bench_ac1.png"
with figure(path, title="AC@1 by case source (bench --quick)", ylabel="AC@1") as ax:
    width = 0.8 / len(methods)
    for i, m in enumerate(methods):
        ax.bar(
            [s + i * width - 0.4 + width / 2 for s in range(len(sources))],
            [bench.sources[src][m]["ac1"] for src in sources],
            width,
            label=m,
            color=color(i),
        )
    ax.set_xticks(range(len(sources)), sources)
    ax.set_ylim(0, 1.05)
display(Image(filename=str(path)))

# %% [markdown]
# Questions: why do BARO and n-sigma fall so far behind on the lab's own cases but not on
# PyRCA's? Which fault type does the coordinator lose most on without the call graph?
