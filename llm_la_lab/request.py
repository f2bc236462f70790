"""One LLM request as the router and a replica see it (shared by the simulator and the live engines)."""

from __future__ import annotations

WAITING, PREFILL, RUNNING, DONE, REJECTED = 0, 1, 2, 3, 4


def chain(block_ids, seed: int = 0) -> tuple[int, ...]:
    """Prefix-cache keys of a prompt's blocks: key i hashes key i−1 with block i's id (vLLM's hash chain).

    Two prompts share key i only if they share every block up to i, so a cache hit on block i
    implies the whole prefix before it is cached too. Python's hash of ints and tuples is not
    salted, so keys are the same in every process.
    """
    keys = []
    key = seed
    for block in block_ids:
        key = hash((key, block))
        keys.append(key)
    return tuple(keys)


class Request:
    """Prompt and output lengths in tokens, arrival time in seconds, and what happened to it.

    `predicted` is the router's guess of `output` (from a length predictor); policies may use it,
    never `output` itself. The bookkeeping fields (`g0`, `kv0`, `joined`, `epoch`, `held`, `done`)
    belong to the replica that runs the request (see :mod:`llm_la_lab.replica`).

    `keys` are the prefix-cache keys of the prompt's blocks of `key_tokens` tokens each (see
    :func:`chain`; empty when the trace has no block hashes). `cached` is how many prompt tokens
    the replica found in its prefix cache when it first admitted the request.
    """

    __slots__ = ("id", "arrival", "prompt", "output", "predicted", "replica", "dispatched", "started",
                 "first_token", "finished", "preemptions", "state", "gen", "g0", "kv0", "joined", "epoch",
                 "blocks", "listener", "keys", "key_tokens", "cached", "held", "done")

    def __init__(self, id: int, arrival: float, prompt: int, output: int, predicted: int | None = None,
                 keys: tuple[int, ...] = (), key_tokens: int = 0):
        if prompt < 1 or output < 1:
            raise ValueError(f"request {id}: prompt and output need at least one token each")
        self.id = id
        self.arrival = arrival
        self.prompt = prompt
        self.output = output
        self.predicted = output if predicted is None else predicted
        self.replica: int | None = None
        self.dispatched: float | None = None  # left the router's queue
        self.started: float | None = None  # first scheduled into an iteration (prefill start)
        self.first_token: float | None = None
        self.finished: float | None = None
        self.preemptions = 0
        self.state = WAITING
        self.gen = 0  # tokens generated so far (valid unless RUNNING; then see ReplicaCore.generated)
        self.g0 = 0
        self.kv0 = 0
        self.joined = 0
        self.epoch = 0
        self.blocks = 0
        self.listener = None  # live mode: an asyncio.Event set whenever the request makes progress
        self.keys = keys
        self.key_tokens = key_tokens
        self.cached: int | None = None
        self.held: list[int] = []  # prefix-cache keys this request references on its replica
        self.done = 0  # prefill tokens computed so far in this admission (chunked prefill)

    @property
    def full_keys(self) -> tuple[int, ...]:
        """Keys of the prompt's *full* blocks: the only ones a prefix cache holds."""
        return self.keys[:self.prompt // self.key_tokens] if self.keys else ()

    @property
    def rejected(self) -> bool:
        return self.state == REJECTED

    def __repr__(self) -> str:
        return f"Request(id={self.id}, arrival={self.arrival:.3f}, prompt={self.prompt}, output={self.output})"
