# %% [markdown]
# # Lab 2 · LLM-LA — load- and cache-aware routing, in a notebook
#
# The companion of `labs/llm-la.md`: the same experiments, called as the CLI calls them
# (`llm_la_lab.experiments` runs, `llm_la_lab.report` prints), at quick sizes. Each cell says
# which task it needs; before a task is done its cell stops with "this needs Task 2.N".
# All numbers are simulated (SimPy, seeded): same seed, same numbers.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import Image, display

from llm_la_lab.experiments import Setup, compare
from llm_la_lab.report import compare_table

out = Path(tempfile.mkdtemp(prefix="llm-la-"))

# %% [markdown]
# ## 0 · Round-robin, random, power of two (no task needed)
# 1,500 requests of the Azure conv trace at ρ = 0.85 on 8 simulated A100 replicas.

# %%
warmup = compare(Setup(requests=1500, load=0.85), ["round_robin", "random", "power_of_two"], out / "warmup")
compare_table(warmup)
display(Image(filename=str(out / "warmup" / "latency_cdf.png")))

# %% [markdown]
# ## 1 · A small KV cache makes imbalance visible (needs Tasks 2.1, 2.2)

# %%
constrained = compare(Setup(requests=1500, load=0.85, replica_spec="constrained"),
                      ["round_robin", "least_requests", "least_outstanding_tokens"], out / "constrained")
compare_table(constrained)
display(Image(filename=str(out / "constrained" / "outstanding_round_robin.png")))
display(Image(filename=str(out / "constrained" / "outstanding_least_outstanding_tokens.png")))

# %% [markdown]
# ## 3 · Stale signals: herding (needs Tasks 2.2, 2.3)

# %%
stale = compare(Setup(requests=1500, load=0.85, replica_spec="constrained", refresh_s=2.0),
                ["round_robin", "least_outstanding_tokens", "llm_la"])
compare_table(stale)

# %% [markdown]
# ## 5 · Prefix caching (needs Tasks 2.2, 2.3, 2.5)
# 150 shared 6k-token system prompts, each request with its own 1.2k-token question, at 1.3 × the
# capacity a cache-less cluster would have.

# %%
shared = compare(Setup(trace=None, lengths="prefix:150,6000,1200,100", requests=600, load=1.3,
                       replica_spec="llama3-8b-a100"),
                 ["round_robin", "least_outstanding_tokens", "prefix_affinity", "weighted_scorer", "llm_la"])
compare_table(shared)

# %%
names = list(shared.policies)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
left.bar(names, [shared.policies[p]["ttft_p90_s"] for p in names], color="tab:blue")
left.set_ylabel("TTFT p90 (s)")
right.bar(names, [100 * shared.policies[p]["prefix_hit_rate"] for p in names], color="tab:green")
right.set_ylabel("prefix-cache hit rate (%)")
for ax in (left, right):
    ax.tick_params(axis="x", rotation=30)
fig.suptitle(f"shared prefixes, predictor {shared.predictor}")
fig.tight_layout()
plt.show()
