"""One LLM request as the router and a replica see it (shared by the simulator and the live engines)."""

from __future__ import annotations

WAITING, PREFILL, RUNNING, DONE = 0, 1, 2, 3


class Request:
    """Prompt and output lengths in tokens, arrival time in seconds, and what happened to it.

    `predicted` is the router's guess of `output` (from a length predictor); policies may use it,
    never `output` itself. The bookkeeping fields (`g0`, `kv0`, `joined`, `epoch`) belong to the
    replica that runs the request (see :mod:`llm_la_lab.replica`).
    """

    __slots__ = ("id", "arrival", "prompt", "output", "predicted", "replica", "dispatched", "started",
                 "first_token", "finished", "preemptions", "state", "gen", "g0", "kv0", "joined", "epoch",
                 "blocks", "listener")

    def __init__(self, id: int, arrival: float, prompt: int, output: int, predicted: int | None = None):
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

    def __repr__(self) -> str:
        return f"Request(id={self.id}, arrival={self.arrival:.3f}, prompt={self.prompt}, output={self.output})"
