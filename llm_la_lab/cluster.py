"""Replica presets (GPU × model) and clusters of them, possibly heterogeneous.

A preset is a :class:`~llm_la_lab.replica.ReplicaConfig` (KV-cache size, context limit, batch
limits) plus the latency profile of its model on its GPU (:data:`llm_la_lab.latency.PROFILES`):

* ``a100-80gb`` — Llama-2-7b fp16 on an A100-80GB: 7,350 KV blocks of 16 tokens (117,600 tokens)
  and no context limit but the cache (the timings are Llama-2-7b's; its 4k context would turn
  away 8 % of the Azure conv trace, so the lab does not impose it);
* ``constrained`` — the same GPU speed with a 16k-token cache and 32 sequences (about what a
  24 GB card leaves): memory, not compute, limits it;
* ``h100-80gb`` — Llama-2-7b on an H100-80GB: the same 7,350 blocks (same 80 GB), faster;
* ``llama3-8b-a100`` — Llama-3.1-8B on an A100-80GB: 128 KiB of KV per token (8 KV heads × 128 ×
  2 bytes × 32 layers × K and V), so (0.9 × 80 GiB − 16.1 GB weights − 2 GiB) / (16 × 128 KiB)
  = 28,182 blocks (451k tokens), and its 131,072-token ``max_model_len``: a Mooncake-length prompt fits.

``--replica-config`` takes a preset name, ``NAME*N,NAME*M`` (one entry per replica: e.g.
``a100-80gb*4,h100-80gb*4`` for a heterogeneous cluster, which pull balances by itself and
round-robin cannot), or a YAML file: a mapping of ReplicaConfig fields (with an optional
``preset:`` to start from) for every replica, or a list of such mappings / preset names, one per
replica.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from sysai.config import from_mapping
from sysai.errors import UserError

from llm_la_lab.latency import LatencyModel, profile_latency
from llm_la_lab.replica import ReplicaConfig


@dataclass(frozen=True)
class Preset:
    config: ReplicaConfig
    profile: str  # latency profile (llm_la_lab.latency.PROFILES)
    what: str


PRESETS = {
    "a100-80gb": Preset(ReplicaConfig(), "llama2-7b-a100", "Llama-2-7b on an A100-80GB"),
    "constrained": Preset(ReplicaConfig(kv_blocks=1000, max_num_seqs=32), "llama2-7b-a100",
                          "Llama-2-7b at A100 speed, 32 sequences"),
    "h100-80gb": Preset(ReplicaConfig(), "llama2-7b-h100", "Llama-2-7b on an H100-80GB"),
    "llama3-8b-a100": Preset(ReplicaConfig(kv_blocks=28182, max_model_len=131072), "llama3-8b-a100",
                             "Llama-3.1-8B (GQA, 128k context) on an A100-80GB"),
}
DEFAULT_PRESET = "a100-80gb"


@dataclass(frozen=True)
class Cluster:
    """One (replica config, latency model) per replica."""

    configs: tuple[ReplicaConfig, ...]
    latencies: tuple[LatencyModel, ...]
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.configs)

    @property
    def label(self) -> str:
        """``a100-80gb×4 + h100-80gb×4`` style summary."""
        parts: list[list] = []
        for name in self.names:
            if parts and parts[-1][0] == name:
                parts[-1][1] += 1
            else:
                parts.append([name, 1])
        return " + ".join(f"{n}×{k}" for n, k in parts)


def _preset(name: str, where: str) -> Preset:
    if name not in PRESETS:
        raise UserError(f"{where}: unknown replica preset {name!r} (presets: {', '.join(PRESETS)}; or a YAML file)")
    return PRESETS[name]


def _entry(item, where: str) -> tuple[ReplicaConfig, LatencyModel, str]:
    if isinstance(item, str):
        preset = _preset(item, where)
        return preset.config, profile_latency(preset.profile), item
    if not isinstance(item, dict):
        raise UserError(f"{where}: expected a preset name or a mapping of ReplicaConfig fields")
    fields = dict(item)
    name = fields.pop("preset", DEFAULT_PRESET)
    preset = _preset(str(name), where)
    config = replace(preset.config, **_checked(fields, where))
    return config, profile_latency(preset.profile), f"{name}*" if fields else str(name)


def _checked(fields: dict, where: str) -> dict:
    config = from_mapping(ReplicaConfig, fields, where=where)
    return {key: getattr(config, key) for key in fields}


def load_cluster(spec: str | None, instances: int, latency: LatencyModel | None = None) -> Cluster:
    """The replicas of `instances` from a ``--replica-config`` spec (see the module docstring).

    `latency`, if given (``--latency FILE``), replaces every replica's latency model.
    """
    if instances < 1:
        raise UserError(f"--instances must be at least 1, got {instances}")
    entries: list[tuple[ReplicaConfig, LatencyModel, str]]
    spec = spec or DEFAULT_PRESET
    path = Path(spec)
    if spec.endswith((".yaml", ".yml")) or (path.suffix and path.is_file()):
        if not path.is_file():
            raise UserError(f"--replica-config: file not found: {path}")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise UserError(f"{path}:{mark.line + 1 if mark else 1}: not valid YAML") from None
        if isinstance(data, list):
            entries = [_entry(item, f"{path}: entry {i + 1}") for i, item in enumerate(data)]
            where = f"{path} lists"
        else:
            entries = [_entry(data if data is not None else {}, str(path))] * instances
            where = ""
    else:
        entries = []
        for part in spec.split(","):
            name, star, count = part.strip().partition("*")
            try:
                n = int(count) if star else 1
            except ValueError:
                raise UserError(f"--replica-config: {part.strip()!r} is not NAME or NAME*COUNT") from None
            if n < 1:
                raise UserError(f"--replica-config: {part.strip()!r}: the count must be at least 1")
            entries += [_entry(name.strip(), "--replica-config")] * n
        if len(entries) == 1:
            entries = entries * instances
        where = "--replica-config lists"
    if len(entries) != instances:
        raise UserError(f"{where} {len(entries)} replica configs but --instances is {instances}")
    configs, latencies, names = zip(*entries)
    if latency is not None:
        latencies = (latency,) * instances
    return Cluster(tuple(configs), tuple(latencies), tuple(names))
