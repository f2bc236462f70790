"""A continuous-batching LLM replica, as in vLLM (v0 scheduler), with no notion of time or I/O.

Mechanism (Kwon et al., "Efficient Memory Management for LLM Serving with PagedAttention",
SOSP'23; the same replica Vidur simulates):

* A **waiting queue** (FCFS) and a **running batch**. Each iteration either *prefills* newly
  admitted requests (up to ``max_batched_tokens`` prompt tokens and ``max_num_seqs`` sequences;
  prefill has priority, as in vLLM's default scheduler) or *decodes* one token for every running
  request.
* A **paged KV cache** of ``kv_blocks`` blocks of ``block_size`` tokens. Admission needs the
  prompt's blocks and leaves a **watermark** of free blocks; a decode step needs one more block for
  a request whose last block is full.
* When a decode step cannot get its blocks, the most recently admitted request is **preempted by
  recompute**: its blocks are freed and it goes back to the front of the waiting queue; when
  readmitted its prompt *and* the tokens generated so far are prefilled again.

How long an iteration takes is the latency model's business (:mod:`llm_la_lab.latency`); the
SimPy replica and the live mock engine both drive this same class: ``plan(now)`` picks the next
iteration and returns its duration, ``complete(now)`` applies it.

Speed: decode steps cost O(1), not O(batch). Every running request gains one token per step, so a
request's progress is ``step - joined``; finishes and "reached the predicted length" moments sit in
heaps keyed by step, and new-block demand is counted per phase of ``kv % block_size``.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass

from sysai.config import option
from sysai.errors import UserError

from llm_la_lab.latency import LatencyModel
from llm_la_lab.load import LoadSignal
from llm_la_lab.request import DONE, PREFILL, RUNNING, WAITING, Request

# (0.9 × 80 GiB − 13.5 GB fp16 Llama-2-7b weights − 2 GiB activations) / (16 tokens × 512 KiB per token)
A100_80GB_LLAMA2_7B_BLOCKS = 7350


@dataclass(frozen=True)
class ReplicaConfig:
    max_num_seqs: int = option(256, "most sequences in one iteration (vLLM --max-num-seqs)")
    max_batched_tokens: int = option(8192, "prompt-token budget of one prefill iteration (a longer prompt runs alone)")
    block_size: int = option(16, "tokens per KV-cache block")
    kv_blocks: int = option(A100_80GB_LLAMA2_7B_BLOCKS, "KV-cache blocks (default: Llama-2-7b fp16 on an A100-80GB at 0.9 memory use)")
    watermark: float = option(0.01, "fraction of blocks admission leaves free (vLLM default 0.01)")

    def __post_init__(self) -> None:
        if min(self.max_num_seqs, self.max_batched_tokens, self.block_size, self.kv_blocks) < 1:
            raise ValueError("replica sizes must be positive")
        if not 0 <= self.watermark < 1:
            raise ValueError("watermark must be in [0, 1)")


#: Named replica configurations for ``--replica-config``. "constrained" has a KV cache of 16k tokens
#: (about what a 24 GB GPU leaves for Llama-2-7b) and 32 sequences: KV memory, not compute, limits it.
REPLICA_PRESETS = {"a100-80gb": ReplicaConfig(), "constrained": ReplicaConfig(kv_blocks=1000, max_num_seqs=32)}


def load_replica_config(spec: str | None) -> ReplicaConfig:
    """A preset name, a YAML file of ReplicaConfig fields, or None for the default."""
    from sysai.config import load_yaml

    if spec is None:
        return ReplicaConfig()
    if spec in REPLICA_PRESETS:
        return REPLICA_PRESETS[spec]
    return load_yaml(ReplicaConfig, spec)


class ReplicaCore:
    """One replica's scheduler and KV cache (see the module docstring)."""

    def __init__(self, config: ReplicaConfig | None = None, latency: LatencyModel | None = None):
        self.config = config = config or ReplicaConfig()
        self.latency = latency or LatencyModel()
        self.bs = config.block_size
        self.watermark_blocks = int(config.watermark * config.kv_blocks)
        self.free_blocks = config.kv_blocks
        self.waiting: deque[Request] = deque()
        self.running: dict[Request, None] = {}  # insertion order = admission order (LIFO preemption)
        self.batch: list[Request] = []  # the prefill iteration in flight (a decode runs all of `running`)
        self.prefilling = False
        self.step = 0  # decode steps done so far
        self.phase = [0] * self.bs  # running requests by (kv0 - joined) mod block_size
        self.kv_offset = 0  # Σ (kv0 - joined) over running: Σ kv = kv_offset + len(running)·step
        self.finish_heap: list[tuple[int, int, int, Request]] = []
        self.pred_heap: list[tuple[int, int, int, Request]] = []
        self.under_pred = 0  # running requests that have not reached their predicted length
        self.pred_left = 0  # Σ predicted remaining decode tokens over those
        self.waiting_tokens = 0  # Σ prefill + predicted decode tokens over waiting/prefilling requests
        self.preemptions = 0
        self.version = 0  # bumps on every state change, for load-signal snapshots

    # --- the two calls a driver makes ---------------------------------------------------------------
    def add(self, r: Request) -> None:
        if -(-(r.prompt + r.output) // self.bs) > self.config.kv_blocks - self.watermark_blocks:
            raise UserError(f"request {r.id} needs {r.prompt + r.output} tokens of KV cache, more than the "
                            f"replica's {self.config.kv_blocks} blocks of {self.bs} hold (raise kv_blocks)")
        r.state = WAITING
        self.waiting.append(r)
        self.waiting_tokens += r.prompt + r.gen + max(r.predicted - r.gen, 0)
        self.version += 1

    def plan(self, now: float) -> float | None:
        """Schedule the next iteration; its duration in seconds, or None when there is nothing to do."""
        self.version += 1
        if self.waiting:
            duration = self._plan_prefill(now)
            if duration is not None:
                return duration
        if not self.running:
            return None
        need = self.phase[-self.step % self.bs]
        while need > self.free_blocks:
            self._preempt(next(reversed(self.running)))
            if not self.running:
                return self.plan(now)
            need = self.phase[-self.step % self.bs]
        self.free_blocks -= need
        self.prefilling = False
        n = len(self.running)
        return self.latency.iteration_s(n, 0, self.kv_offset + n * self.step)

    def complete(self, now: float) -> list[Request]:
        """Apply the planned iteration at time `now`; return the requests that finished."""
        done: list[Request] = []
        self.version += 1
        if self.prefilling:
            for r in self.batch:
                self.waiting_tokens -= r.prompt + r.gen + max(r.predicted - r.gen, 0)
                r.gen += 1
                if r.first_token is None:
                    r.first_token = now
                if r.gen >= r.output:
                    self.free_blocks += r.blocks
                    self._done(r, now, done)
                else:
                    self._join(r)
        else:
            self.step += 1
            self.pred_left -= self.under_pred
            heap = self.pred_heap
            while heap and heap[0][0] <= self.step:
                _, _, epoch, r = heapq.heappop(heap)
                if r.epoch == epoch:
                    self.under_pred -= 1
            heap = self.finish_heap
            while heap and heap[0][0] <= self.step:
                _, _, epoch, r = heapq.heappop(heap)
                if r.epoch == epoch:
                    self._leave(r)
                    r.gen = r.output
                    self._done(r, now, done)
        self.batch = []
        return done

    def abort(self, r: Request) -> None:
        """Cut `r` short (its client went away, like vLLM's abort): it finishes with what it has.

        A waiting request leaves now. One in flight ends at the end of the current iteration, so
        the blocks planned for that iteration are returned by the normal bookkeeping.
        """
        if r.state == WAITING:
            self.waiting.remove(r)
            self.waiting_tokens -= r.prompt + r.gen + max(r.predicted - r.gen, 0)
            r.state = DONE
            r.blocks = 0
            self.version += 1
        elif r.state == PREFILL:
            r.output = r.gen + 1
        elif r.state == RUNNING:
            r.output = min(r.output, self.generated(r) + 1)
            heapq.heappush(self.finish_heap, (self.step + 1, r.id, r.epoch, r))

    # --- state a driver or a load signal reads -------------------------------------------------
    def generated(self, r: Request) -> int:
        return r.g0 + self.step - r.joined if r.state == RUNNING else r.gen

    @property
    def outstanding_tokens(self) -> int:
        return self.waiting_tokens + self.pred_left

    @property
    def requests(self) -> int:
        return len(self.waiting) + len(self.running) + (len(self.batch) if self.prefilling else 0)

    @property
    def kv_util(self) -> float:
        return 1.0 - self.free_blocks / self.config.kv_blocks

    def signal(self, replica: int, now: float) -> LoadSignal:
        return LoadSignal(replica, self.version, now, self.requests, len(self.waiting), self.outstanding_tokens,
                          self.kv_util, self.config.kv_blocks * self.bs, self.config.max_num_seqs)

    def blocks_in_use(self) -> int:
        """Blocks held by requests, recounted from scratch (for invariant checks)."""
        held = sum(-(-(r.kv0 + self.step - r.joined) // self.bs) for r in self.running)
        return held + (sum(r.blocks for r in self.batch) if self.prefilling else 0)

    # --- internals ------------------------------------------------------------------------------
    def _plan_prefill(self, now: float) -> float | None:
        cfg = self.config
        admitted: list[Request] = []
        tokens = 0
        square = 0
        slots = cfg.max_num_seqs - len(self.running)
        while self.waiting and len(admitted) < slots:
            r = self.waiting[0]
            n = r.prompt + r.gen
            need = -(-n // self.bs)
            if admitted and tokens + n > cfg.max_batched_tokens:
                break
            if self.free_blocks - need < self.watermark_blocks:
                break
            self.waiting.popleft()
            self.free_blocks -= need
            r.blocks = need
            r.state = PREFILL
            if r.started is None:
                r.started = now
            tokens += n
            square += n * n
            admitted.append(r)
        if not admitted:
            return None
        self.prefilling = True
        self.batch = admitted
        return self.latency.iteration_s(tokens, square, 0)

    def _join(self, r: Request) -> None:
        step = self.step
        r.state = RUNNING
        r.kv0 = r.prompt + r.gen - 1  # every token but the one just sampled is in the cache
        r.g0 = r.gen
        r.joined = step
        r.epoch += 1
        offset = r.kv0 - step
        self.phase[offset % self.bs] += 1
        self.kv_offset += offset
        self.running[r] = None
        heapq.heappush(self.finish_heap, (step + r.output - r.gen, r.id, r.epoch, r))
        left = r.predicted - r.gen
        if left > 0:
            self.under_pred += 1
            self.pred_left += left
            heapq.heappush(self.pred_heap, (step + left, r.id, r.epoch, r))

    def _leave(self, r: Request) -> None:
        """Take a running request out of the batch and free its blocks."""
        del self.running[r]
        offset = r.kv0 - r.joined
        self.phase[offset % self.bs] -= 1
        self.kv_offset -= offset
        self.free_blocks += -(-(offset + self.step) // self.bs)
        r.gen = r.g0 + self.step - r.joined
        left = r.predicted - r.gen
        if left > 0:
            self.under_pred -= 1
            self.pred_left -= left
        r.epoch += 1  # invalidates its heap entries

    def _preempt(self, r: Request) -> None:
        self._leave(r)
        r.state = WAITING
        r.preemptions += 1
        self.preemptions += 1
        self.waiting.appendleft(r)
        self.waiting_tokens += r.prompt + r.gen + max(r.predicted - r.gen, 0)

    def _done(self, r: Request, now: float, done: list[Request]) -> None:
        r.state = DONE
        r.finished = now
        r.blocks = 0
        done.append(r)
