"""Example functions for the gateway, the benchmark and the tests (import paths like
``yuanrong_lab.functions:echo``). HTTP invocations call them with the JSON body as one argument."""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def echo(payload: Any) -> Any:
    return payload


def sleep(payload: Any) -> Any:
    """Sleep `payload["seconds"]` (for timeouts and autoscaling)."""
    seconds = float(payload.get("seconds", 0.1)) if isinstance(payload, dict) else float(payload)
    time.sleep(seconds)
    return {"slept": seconds}


def where(payload: Any) -> Any:
    """Which Ray node runs this instance (placement), after sleeping `payload` seconds if a number."""
    import ray

    if isinstance(payload, (int, float)):
        time.sleep(payload)
    return ray.get_runtime_context().get_node_id()


def fail(payload: Any) -> Any:
    raise ValueError(f"asked to fail: {payload!r}")


class Classifier:
    """A function with a real init: builds a lookup table once per instance (its cold start part),
    then answers calls from it (warm calls are cheap)."""

    def __init__(self) -> None:
        gen = np.random.default_rng(0)
        self.centroids = gen.normal(size=(256, 64))
        self.table = gen.normal(size=(2_000_000,)).cumsum()  # ~16 MB built per instance

    def __call__(self, payload: Any) -> Any:
        x = np.resize(np.asarray(payload.get("x", [0.0]) if isinstance(payload, dict) else [0.0], dtype=float), 64)
        return {"label": int(np.argmin(((self.centroids - x) ** 2).sum(axis=1)))}


def source(n_bytes: int) -> np.ndarray:
    """First stage of the data chain: produce `n_bytes` of data."""
    return np.arange(n_bytes, dtype=np.uint64).astype(np.uint8)


def transform(data: np.ndarray) -> np.ndarray:
    """A chain stage: read every byte, write a new array of the same size."""
    return np.bitwise_xor(data, 0x5A)


def checksum(data: np.ndarray) -> int:
    return int(np.asarray(data, dtype=np.uint64).sum())


class Counter:
    """A stateful instance: calls on one instance run one at a time, in order, sharing `value`."""

    def __init__(self, start: int = 0) -> None:
        self.value = start
        self.history: list[int] = []

    def add(self, k: int = 1) -> int:
        self.value += k
        self.history.append(k)
        return self.value

    def get(self) -> int:
        return self.value

    def slow_add(self, k: int, seconds: float) -> int:
        time.sleep(seconds)
        return self.add(k)

    def seen(self) -> list[int]:
        return self.history


def crash(payload: Any) -> Any:
    """End the instance's process abruptly, as a segfault or the OOM killer would."""
    import os

    os._exit(1)
