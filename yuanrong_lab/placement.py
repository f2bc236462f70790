"""Two-level scheduling vs a node-blind pool, live on a 3-node Ray cluster (``ray.cluster_utils``).

Three Ray nodes on this machine, each with its own object store and a labelled resource
(``n0``, ``n1``, ``n2``). Each of the chain's stages is its own function with one instance per
node (started in a seeded order), and each node has a data source.
`chains` data chains run at once, each starting from data produced on a node drawn with the seed; every
stage consumes the previous stage's output (10–100 MB). Per stage, each policy picks an instance:

* **node-blind** — the runtime's own :class:`~yuanrong_lab.pool.WarmPool` choice (busiest, then
  most recently used idle), which knows nothing of where the data is: the argument follows the call;
* **two-level** — :func:`yuanrong_lab.scheduler.two_level`: the local scheduler of the node
  holding the data takes it if its instance is free, else the global scheduler places it;
* **ray-tasks** — the same stages as plain Ray tasks: Ray's own owner-side locality-aware leasing
  (a reference, not a policy of ours).

Measured: wall time of all chains, and bytes that crossed nodes — each stage's input size when
the node that ran it (where Ray's object directory says its output was created) does not hold
the input. Object locations come from ``ray.experimental.get_object_locations``.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

NODES = ("n0", "n1", "n2")
FAST_FAILURE = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 500, "health_check_failure_threshold": 5}


@dataclass
class PlacementResults:
    payload_mb: float
    stages: int
    chains: int
    repeats: int
    policies: dict[str, dict[str, float]] = field(default_factory=dict)  # policy → wall_s, cross_node_mb, local/global


def _stage(data):
    import numpy as np

    return np.bitwise_xor(data, 0x5A)


def _make(n_bytes: int):
    import numpy as np

    return np.arange(n_bytes, dtype=np.uint64).astype(np.uint8)


class _Stage:
    def run(self, data):
        return _stage(data)

    def make(self, n_bytes: int):
        return _make(n_bytes)

    def node(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()


def run_placement(
    size_bytes: int, stages: int = 4, chains: int = 3, repeats: int = 2, seed: int = 42
) -> PlacementResults:
    """Start the 3-node cluster, run every policy `repeats` times (median), always shut it down."""
    import ray
    from ray.cluster_utils import Cluster

    from sysai.raycluster import keep_ray_on_loopback

    if ray.is_initialized():
        raise RuntimeError("the placement benchmark starts its own 3-node cluster: run it with Ray stopped")
    keep_ray_on_loopback()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "resources": {NODES[0]: 1},
            "include_dashboard": False,
            "_system_config": FAST_FAILURE,
            "object_store_memory": max(300 << 20, 8 * size_bytes),
        },
    )
    try:
        for label in NODES[1:]:
            cluster.add_node(num_cpus=1, resources={label: 1}, object_store_memory=max(300 << 20, 8 * size_bytes))
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        try:
            return _measure(size_bytes, stages, chains, repeats, seed)
        finally:
            ray.shutdown()
    finally:
        cluster.shutdown()


def _measure(size_bytes: int, stages: int, chains: int, repeats: int, seed: int) -> PlacementResults:
    import ray
    from ray.experimental import get_object_locations

    from sysai.seeding import rng
    from yuanrong_lab.keepalive.base import KeepAliveConfig, make_policy
    from yuanrong_lab.pool import WarmPool
    from yuanrong_lab.scheduler import Slot, two_level

    remote = ray.remote(_Stage)
    # every stage is its own function with one instance per node, started in its own (seeded) order:
    # instance k of stage s sits on layout[s][k] — what a node-blind pool's order knows nothing about
    layout = [[NODES[int(i)] for i in rng(seed, "yuanrong-layout", s).permutation(len(NODES))] for s in range(stages)]
    instances = [[remote.options(num_cpus=0.1, resources={label: 0.01}).remote() for label in row] for row in layout]
    makers = {label: remote.options(num_cpus=0.1, resources={label: 0.01}).remote() for label in NODES}
    label_of_node = {node: label for label, node in zip(NODES, ray.get([makers[n].node.remote() for n in NODES]))}
    task = ray.remote(_stage).options(num_cpus=0.3)

    def where(ref: Any) -> set[str]:
        return {label_of_node.get(n, "?") for n in get_object_locations([ref])[ref]["node_ids"]}

    def run_once(policy: str, heads_at: list[int]) -> dict[str, float]:
        heads = [makers[NODES[i]].make.remote(size_bytes) for i in heads_at]
        ray.wait(heads, num_returns=len(heads), fetch_local=False)
        crossed, levels = 0, {"local": 0, "global": 0}
        started = time.perf_counter()
        refs = heads
        for step in range(stages):
            inputs_at = [where(r) for r in refs]
            outs = []
            if policy == "ray-tasks":
                outs = [task.remote(r) for r in refs]
            else:
                pool = WarmPool(make_policy(KeepAliveConfig(policy="fixed")), concurrency=1)
                for _ in NODES:
                    pool.add_idle(0.0)
                busy: set[int] = set()
                for r, at in zip(refs, inputs_at):
                    if policy == "node-blind":
                        inst = pool.acquire(float(step))
                        iid = inst.id if inst is not None else min(range(len(NODES)), key=lambda i: i in busy)
                    else:
                        slots = [Slot(i, layout[step][i], i not in busy) for i in range(len(NODES))]
                        iid, level = two_level({n: size_bytes for n in at}, "n0", slots)
                        if iid is None:  # all busy: queue behind the first
                            iid = 0
                        else:
                            levels[level] += 1
                    busy.add(iid)
                    outs.append(instances[step][iid].run.remote(r))
            ray.wait(outs, num_returns=len(outs), fetch_local=False)  # the driver must not pull copies
            for at, out in zip(inputs_at, outs):
                if not (where(out) & at):
                    crossed += size_bytes
            refs = outs
        ray.get(refs)
        wall = time.perf_counter() - started
        return {
            "wall_s": wall,
            "cross_node_mb": crossed / 1e6,
            "local_choices": levels["local"],
            "global_choices": levels["global"],
        }

    out = PlacementResults(size_bytes / 1e6, stages, chains, repeats)
    # where each chain's data starts (an upstream function ran there): seeded, the same for every policy
    sources = [
        [int(x) for x in rng(seed, "yuanrong-placement", rep).integers(0, len(NODES), chains)] for rep in range(repeats)
    ]
    runs: dict[str, list[dict[str, float]]] = {p: [] for p in ("node-blind", "two-level", "ray-tasks")}
    for rep in range(repeats):
        for policy in runs:  # interleaved, so that every policy sees the same machine
            runs[policy].append(run_once(policy, sources[rep]))
    for policy, rs in runs.items():
        out.policies[policy] = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
    for inst in [*makers.values(), *(i for row in instances for i in row)]:
        ray.kill(inst)
    return out
