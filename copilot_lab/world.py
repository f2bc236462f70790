"""The simulator: a service system under load, with telemetry and (optionally) one fault.

It plays the role of gala-gopher (collection) on a system we can break at will. Per step
(``step_s``) and service it computes the load, CPU, own processing time (queueing grows as CPU
saturates), latency **including every call made** (so slowness propagates to callers), error
rate **bubbling up** from callees, memory, disk and retransmissions; then observes them with
noise, and writes logs from templates and sampled traces that follow the call graph.

Realism that makes RCA hard, on purpose:

* propagation: callers of a slow service are slow too, and the entry sees the most errors;
* network faults hit the *connections* of the root, so its own processing time is unchanged;
* noisy neighbours (co-located services share CPU and disk);
* **decoys**: unrelated events near the onset (a batch job, a backup, a cache warm-up, a GC blip,
  a burst of harmless new warnings), each visible in one modality only;
* services differ in how noisy their metrics are;
* outliers in the metrics, a daily load pattern and sampled (not all) traces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from copilot_lab.faults.base import Effect
from copilot_lab.system import System
from copilot_lab.telemetry import KINDS, Logs, Telemetry, Traces
from sysai.config import option
from sysai.seeding import rng

BASE_NET_MS = 0.3  # one-way network time between two services
RTO_MS = 200.0  # retransmission timeout paid when a packet is lost
BUBBLE = 0.7  # share of a callee's errors a caller turns into its own error
EPOCH = 1_700_000_000.0


@dataclass
class SimConfig:
    step_s: float = option(10.0, "seconds between metric samples")
    steps: int = option(180, "samples per case (180 × 10 s = 30 min)")
    onset_min: int = option(110, "earliest fault onset, in steps")
    onset_max: int = option(140, "latest fault onset, in steps")
    ramp_steps: int = option(30, "steps a ramping fault (leak) takes to reach full strength")
    noise: float = option(1.0, "scale of every noise source (1 = nominal)")
    decoy_rate: float = option(1.0, "expected number of unrelated one-modality events near the onset")
    traces_per_step: int = option(3, "sampled traces per step")
    log_rate: float = option(0.3, "normal log lines per service per step")
    log_sample: float = option(0.02, "share of error/warn events written as log lines")


@dataclass(frozen=True)
class Injection:
    """One fault in one service: what, where, how strong, when (step index of the onset). A tuple
    of roots puts the same fault into several services at once (concurrent root causes)."""

    fault: str
    root: int | tuple[int, ...]
    severity: float
    onset: int
    effect: Effect


NORMAL_TEMPLATES = (
    "INFO handled GET /api/{svc}/items/{id} in {ms} ms",
    "INFO request {hex} completed status=200",
    "INFO cache refresh done, {n} entries",
    "DEBUG health check ok after {ms} ms",
)


def simulate(system: System, injection: Injection | None, config: SimConfig, seed: int) -> Telemetry:
    """Telemetry of `system` for one case; `seed` fixes every random draw (named streams)."""
    T, S = config.steps, system.n
    noise = config.noise
    t_idx = np.arange(T)
    time = EPOCH + rng(seed, "epoch").integers(0, 86400) + t_idx * config.step_s
    r_load = rng(seed, "load")
    daily = 1 + 0.25 * np.sin(2 * np.pi * (time % 86400) / 86400 + r_load.uniform(0, 2 * np.pi))
    load = daily * (1 + 0.03 * noise * r_load.standard_normal(T))
    rps = system.spec.base_rps * load[:, None] * system.visits[None, :]

    spec = system.spec.services
    self_ms0 = np.array([s.self_ms for s in spec])
    cpu0 = np.array([s.cpu for s in spec])
    mem0 = np.array([s.mem_mb for s in spec])
    colocated = system.graph.colocated

    # fault strength over time: 0 before the onset, then a step or a ramp
    f = np.zeros(T)
    root_mask = np.zeros(S, dtype=bool)
    eff = Effect()
    if injection is not None:
        eff = injection.effect
        after = t_idx >= injection.onset
        f = np.where(after, 1.0, 0.0)
        if eff.ramp:
            f = np.clip((t_idx - injection.onset + 1) / config.ramp_steps, 0, 1) * after
        root_mask[np.atleast_1d(injection.root)] = True
    nb_mask = colocated[root_mask].any(axis=0) if root_mask.any() else np.zeros(S, dtype=bool)
    F = f[:, None]

    decoys = _decoys(system, config, seed, injection, root_mask)
    decoy_cpu, decoy_factor = decoys["cpu"], decoys["self_factor"]

    cpu = cpu0 * load[:, None] + F * (eff.cpu_add * root_mask + eff.neighbour_cpu_add * nb_mask)
    rho0 = np.clip(cpu0 / 100, 0, 0.9)
    rho = np.clip(cpu / 100, 0, 0.92)
    queueing = (1 - rho0) / (1 - rho)
    factor = 1 + F * ((eff.self_factor - 1) * root_mask + (eff.neighbour_self_factor - 1) * nb_mask)
    self_ms = self_ms0 * queueing * factor * decoy_factor + F * eff.self_add_ms * root_mask
    cpu = cpu + decoy_cpu  # a batch job in its own cgroup: visible CPU, no queueing for requests

    # connections: one-way delay and loss on every edge touching the root
    touches = root_mask[:, None] | root_mask[None, :]
    delay = BASE_NET_MS + F[:, :, None] * eff.edge_delay_ms * touches[None]  # (T, S, S)
    loss = F[:, :, None] * eff.edge_loss * touches[None]
    err_own = 0.002 + F * eff.error_add * root_mask
    latency = np.zeros((T, S))
    error = np.zeros((T, S))
    client = np.zeros((T, S, S))  # time a caller waits for one call to a callee
    for i in reversed(system.order):  # callees first
        callees = np.flatnonzero(system.graph.adjacency[i])
        total = self_ms[:, i].copy()
        ok = 1 - err_own[:, i]
        for j in callees:
            p = system.call_prob[i, j]
            client[:, i, j] = 2 * delay[:, i, j] + latency[:, j] + 2 * loss[:, i, j] * RTO_MS
            total += p * client[:, i, j]
            ok *= 1 - p * (BUBBLE * error[:, j] + loss[:, i, j] ** 2)
        latency[:, i] = total
        error[:, i] = 1 - ok

    mem = mem0 * (1 + 0.02 * np.sin(2 * np.pi * t_idx / 97))[:, None] + F * eff.mem_add_mb * root_mask + decoys["mem"]
    disk = 2.0 * load[:, None] * (1 + self_ms0 / 10) + F * (eff.disk_add * root_mask + eff.neighbour_disk_add * nb_mask)
    disk += decoys["disk"]
    callers_of_root = system.graph.adjacency[:, root_mask].any(axis=1)
    net = 1.0 * load[:, None] + F * eff.net_add * (root_mask + 0.6 * callers_of_root)

    # observation noise: per-step averages over many requests, plus rare outliers
    r_obs = rng(seed, "observe")
    n_req = np.maximum(rps * config.step_s, 1.0)
    scale = noise * np.exp(0.5 * r_obs.standard_normal((S, len(KINDS))))  # some services are just noisier
    obs = np.empty((T, S, len(KINDS)))
    obs[..., 0] = latency * np.exp(0.05 * scale[:, 0] * r_obs.standard_normal((T, S)))
    obs[..., 1] = r_obs.poisson(error * n_req) / n_req
    obs[..., 2] = r_obs.poisson(n_req) / config.step_s
    obs[..., 3] = np.clip(cpu + 1.5 * scale[:, 3] * r_obs.standard_normal((T, S)), 0, 100)
    obs[..., 4] = mem + 0.01 * scale[:, 4] * mem0 * r_obs.standard_normal((T, S))
    obs[..., 5] = disk * np.exp(0.15 * scale[:, 5] * r_obs.standard_normal((T, S)))
    obs[..., 6] = r_obs.poisson(net * config.step_s) / config.step_s
    outliers = r_obs.random(obs.shape) < 0.003 * noise
    obs = np.where(outliers, obs * r_obs.uniform(1.5, 3.0, obs.shape), obs)

    logs = _logs(system, config, seed, time, rps, err_own, error, client, loss, F, root_mask, eff, decoys["log"])
    traces = _traces(system, config, seed, time, self_ms, delay, loss, err_own)
    return Telemetry(list(system.names), KINDS, time, obs, logs, traces)


DECOY_KINDS = ("batch_cpu", "cache_warmup", "backup_disk", "gc_blip", "deprecation_warning")
DECOY_LOG = "WARN deprecated API /v1/{svc}/items called by client {id}"


def _decoys(system: System, config: SimConfig, seed: int, injection: Injection | None, root_mask: np.ndarray) -> dict:
    """Unrelated events near the onset, each visible in **one** modality only: a batch job's
    CPU, a cache warm-up's memory, a backup's disk, a short GC blip, a burst of harmless but
    never-seen deprecation warnings. They fool any single agent that reads that modality;
    a coordinator that asks for corroboration should not be fooled."""
    r = rng(seed, "decoy")
    T, S = config.steps, system.n
    out = {
        "cpu": np.zeros((T, S)),
        "self_factor": np.ones((T, S)),
        "mem": np.zeros((T, S)),
        "disk": np.zeros((T, S)),
        "log": [],
    }
    centre = injection.onset if injection is not None else (config.onset_min + config.onset_max) // 2
    others = np.flatnonzero(~root_mask)
    for _ in range(r.poisson(config.decoy_rate * config.noise)):
        kind = DECOY_KINDS[int(r.integers(0, len(DECOY_KINDS)))]
        victim = int(r.choice(others))
        start = int(np.clip(centre + r.integers(-5, 10), 0, T - 1))
        length = int(r.integers(5, 40))
        window = slice(start, start + length)
        strength = r.uniform(0.5, 1.5)
        if kind == "batch_cpu":
            out["cpu"][window, victim] += 45 * strength
        elif kind == "cache_warmup":
            out["mem"][window, victim] += 600 * strength
        elif kind == "backup_disk":
            out["disk"][window, victim] += 60 * strength
        elif kind == "gc_blip":
            out["self_factor"][start : start + 1 + length // 4, victim] *= 1 + 2 * strength
        else:
            counts = np.zeros(T)
            counts[window] = 2.0 * strength
            out["log"].append((victim, counts))
    return out


def _fill(template: str, svc: str, r: np.random.Generator) -> str:
    return template.format(
        svc=svc,
        id=int(r.integers(1, 99999)),
        ms=int(r.integers(5, 900)),
        hex=f"{int(r.integers(0, 2**32)):08x}",
        n=int(r.integers(1, 5000)),
        pct=int(r.integers(70, 99)),
        file=f"seg-{int(r.integers(0, 999)):03d}.dat",
        key=["pool.size", "timeout.ms", "feature.flags", "db.url"][int(r.integers(0, 4))],
    )


def _logs(system, config, seed, time, rps, err_own, error, client, loss, F, root_mask, eff, decoy_logs) -> Logs:
    """Template logs: normal chatter, sporadic errors, and the fault's own lines.

    A caller writes "upstream call to <callee> failed" for errors it inherits, "call to <callee>
    slow" when a call takes far longer than usual, and "timeout calling <callee>" on lost packets
    — so log lines often *name* a downstream service, as real RPC clients do.
    """
    r = rng(seed, "logs")
    T, S = rps.shape
    sample = config.log_sample * config.step_s
    events: list[tuple[np.ndarray, int, str]] = []  # (counts per step, service, template)
    for s in range(S):
        events.append((r.poisson(config.log_rate, T), s, NORMAL_TEMPLATES[int(r.integers(0, len(NORMAL_TEMPLATES)))]))
        events.append((r.poisson(0.02, T), s, "ERROR request {hex} failed: deadline exceeded"))
        if root_mask[s] and eff.logs:
            level_rate = np.minimum(rps[:, s] * np.maximum(err_own[:, s] - 0.002, 0) * sample, 30) + 0.6 * F[:, 0]
            for level, template in eff.logs:
                events.append((r.poisson(level_rate), s, f"{level} {template}"))
    for s, counts in decoy_logs:
        events.append((r.poisson(counts), s, DECOY_LOG))
    baseline_client = client[: config.onset_min // 2].mean(axis=0)
    for i, j in zip(*np.nonzero(system.graph.adjacency)):
        p = system.call_prob[i, j]
        inherited = rps[:, i] * p * BUBBLE * error[:, j] * sample
        events.append(
            (r.poisson(np.minimum(inherited, 30)), i, f"ERROR upstream call to {system.names[j]} failed: status=500")
        )
        slow = np.clip(client[:, i, j] / np.maximum(baseline_client[i, j], 1e-6) - 1.3, 0, None)
        events.append(
            (r.poisson(np.minimum(3.0 * slow, 20) + 0.01), i, f"WARN call to {system.names[j]} slow: {{ms}} ms")
        )
        timeouts = rps[:, i] * p * loss[:, i, j] * sample
        if timeouts.any():
            events.append(
                (
                    r.poisson(np.minimum(timeouts, 20)),
                    i,
                    f"WARN timeout calling {system.names[j]} after {{ms}} ms, retrying",
                )
            )
    times, services, messages = [], [], []
    for counts, s, template in events:
        for t in np.flatnonzero(counts):
            for _ in range(int(counts[t])):
                times.append(time[t] + r.uniform(0, config.step_s))
                services.append(s)
                messages.append(_fill(template, system.names[s], r))
    order = np.argsort(times, kind="stable")
    return Logs(np.asarray(times)[order], np.asarray(services, dtype=int)[order], [messages[k] for k in order])


def _unrolled(system: System) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The call tree from the entry, unrolled: (service, parent node, call probability) per node,
    in depth-first order (a parent before its children, siblings in call order)."""
    service, parent, prob = [], [], []

    def visit(s: int, par: int, p: float) -> None:
        node = len(service)
        service.append(s)
        parent.append(par)
        prob.append(p)
        for j in np.flatnonzero(system.graph.adjacency[s]):
            visit(int(j), node, float(system.call_prob[s, j]))

    visit(system.entry, -1, 1.0)
    return np.array(service), np.array(parent), np.array(prob)


def _traces(system, config, seed, time, self_ms, delay, loss, err_own) -> Traces:
    """Sampled traces: each request walks the unrolled call tree. As in OpenTelemetry, a call is
    two spans: the caller's *client* span (what the caller waited: network both ways, lost-packet
    timeouts, the callee) and, as its child, the callee's *server* span."""
    r = rng(seed, "traces")
    service, parent, prob = _unrolled(system)
    U = len(service)
    steps = np.repeat(np.arange(config.steps), config.traces_per_step)
    N = len(steps)
    include = np.zeros((N, U), dtype=bool)
    include[:, 0] = True
    for u in range(1, U):
        include[:, u] = include[:, parent[u]] & (r.random(N) < prob[u])
    own = self_ms[steps][:, service] * r.lognormal(0, 0.25, (N, U))
    err = r.random((N, U)) < err_own[steps][:, service]
    duration = own.copy()
    net = np.zeros((N, U))
    start_lost = np.zeros((N, U), dtype=bool)
    for u in range(U - 1, 0, -1):  # children before parents
        i, j = service[parent[u]], service[u]
        d = delay[steps, i, j]
        lost = r.random(N) < 2 * loss[steps, i, j]
        net[:, u] = d
        start_lost[:, u] = lost
        call = 2 * d + duration[:, u] + lost * RTO_MS
        duration[:, parent[u]] += call * include[:, u]
        err[:, parent[u]] |= include[:, u] & err[:, u] & (r.random(N) < BUBBLE)
    start = np.zeros((N, U))
    start[:, 0] = time[steps] + r.uniform(0, config.step_s, N)
    cursor = start + own * 0.5e-3  # half the own work before the first call
    for u in range(1, U):
        pu = parent[u]
        start[:, u] = cursor[:, pu] + net[:, u] * 1e-3
        cursor[:, u] = start[:, u] + own[:, u] * 0.5e-3
        cursor[:, pu] += include[:, u] * (duration[:, u] + 2 * net[:, u] + start_lost[:, u] * RTO_MS) * 1e-3
    rows, cols = np.nonzero(include)
    server = rows * 2 * U + cols
    client = server + U  # the caller's client span for the call that created node `cols`
    has_parent = parent[cols] >= 0
    pr, pc = rows[has_parent], cols[has_parent]
    d = net[pr, pc] * 1e-3
    call_ms = duration[pr, pc] + 2 * net[pr, pc] + (start_lost[pr, pc] * RTO_MS)
    span = np.concatenate([server, client[has_parent]])
    parent_span = np.concatenate([np.where(has_parent, client, -1), pr * 2 * U + parent[pc]])
    return Traces(
        trace=np.concatenate([rows, pr]),
        span=span,
        parent=parent_span,
        service=np.concatenate([service[cols], service[parent[pc]]]),
        start=np.concatenate([start[rows, cols], start[pr, pc] - d]),
        duration_ms=np.concatenate([duration[rows, cols], call_ms]),
        error=np.concatenate([err[rows, cols], err[pr, pc]]),
        client=np.concatenate([np.zeros(len(rows), dtype=bool), np.ones(len(pr), dtype=bool)]),
    )
