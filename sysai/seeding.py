"""Seeding: same seed, same numbers, and no process-global random state.

Every experiment takes a seed and derives *independent named streams* from it, so adding a
random draw in one component does not shift the numbers of another::

    arrivals = rng(seed, "arrivals")
    lengths = rng(seed, "lengths")

Never call ``numpy.random.seed`` or ``random.seed``: global state breaks a second run in the
same process (a notebook, a test session).
"""

from __future__ import annotations

import random
import zlib

import numpy as np


def _key(names: tuple[object, ...]) -> list[int]:
    return [zlib.crc32(str(name).encode()) for name in names]


def rng(seed: int, *names: object) -> np.random.Generator:
    """A numpy Generator for stream `names` under `seed`."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=_key(names)))


def py_random(seed: int, *names: object) -> random.Random:
    """A stdlib Random for stream `names` under `seed` (for code that wants `random`)."""
    return random.Random(int(np.random.SeedSequence(seed, spawn_key=_key(names)).generate_state(1)[0]))


def child_seed(seed: int, *names: object) -> int:
    """An integer seed for a sub-experiment (e.g. one sweep point run on a Ray worker)."""
    return int(np.random.SeedSequence(seed, spawn_key=_key(names)).generate_state(1)[0])
