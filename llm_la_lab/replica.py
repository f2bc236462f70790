"""A continuous-batching LLM replica, as in vLLM, with no notion of time or I/O.

Mechanism (Kwon et al., "Efficient Memory Management for LLM Serving with PagedAttention",
SOSP'23; the same replica Vidur simulates):

* A **waiting queue** (FCFS) and a **running batch**. With **chunked prefill** (vLLM's default
  scheduler since v1) every iteration first gives each running request one decode token, then
  spends what is left of the ``max_batched_tokens`` budget on prefill *chunks*: first of prompts
  already being prefilled, then of newly admitted ones. A 40k-token prompt is thus prefilled over
  several iterations while decodes keep flowing. Without it (``chunked_prefill: false``, vLLM's
  v0 scheduler) an iteration either prefills whole prompts (priority) or decodes.
* A **paged KV cache** of ``kv_blocks`` blocks of ``block_size`` tokens. Admission needs the
  prompt's blocks and leaves a **watermark** of free blocks; a decode step needs one more block for
  a request whose last block is full.
* **Automatic prefix caching** (:mod:`llm_la_lab.prefix_cache`): the full blocks of a prompt are
  kept under hash-chain keys; a later prompt with the same leading blocks reuses them and skips
  their prefill. Unreferenced cached blocks are evicted LRU-first, only when no free block is left.
* When a decode step cannot get its blocks, the most recently admitted request is **preempted by
  recompute**: its blocks are released and it goes back to the front of the waiting queue; when
  readmitted its prompt *and* the tokens generated so far are prefilled again (its own prompt
  blocks may still be cached).
* A request longer than ``max_model_len`` (or than the cache can ever hold) is **rejected** at
  once, as vLLM answers it with a 400; it never reaches the queue.

How long an iteration takes is the latency model's business (:mod:`llm_la_lab.latency`); the
SimPy replica and the live mock engine both drive this same class: ``plan(now)`` picks the next
iteration and returns its duration, ``complete(now)`` applies it.

Speed: decode steps cost O(1), not O(batch). Every running request gains one token per step, so a
request's progress is ``step - joined``; finishes and "reached the predicted length" moments sit in
heaps keyed by step, and new-block demand is counted per phase of ``kv % block_size``.

**Skip-ahead** (:meth:`begin_stretch`): when nothing waits and nothing is being prefilled, the
next steps up to the next finish are all decode steps of the same batch, and their durations are
known in advance. A driver can then wait once for the whole stretch instead of once per step;
:meth:`sync` brings the state to any moment inside it (for a load signal, a sampler or a new
request, which cuts the stretch at the step in flight). Step end times are accumulated with the
same floating-point additions as step by step, so both modes give the same numbers, bit for bit.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass

from sysai.config import option
from sysai.errors import UserError

from llm_la_lab.latency import LatencyModel
from llm_la_lab.load import LoadSignal
from llm_la_lab.prefix_cache import PrefixCache
from llm_la_lab.request import DONE, PREFILL, REJECTED, RUNNING, WAITING, Request

# (0.9 × 80 GiB − 13.5 GB fp16 Llama-2-7b weights − 2 GiB activations) / (16 tokens × 512 KiB per token)
A100_80GB_LLAMA2_7B_BLOCKS = 7350


@dataclass(frozen=True)
class ReplicaConfig:
    max_num_seqs: int = option(256, "most sequences in one iteration (vLLM --max-num-seqs)")
    max_batched_tokens: int = option(8192, "token budget of one iteration (vLLM --max-num-batched-tokens); "
                                           "without chunked prefill a longer prompt runs alone")
    block_size: int = option(16, "tokens per KV-cache block")
    kv_blocks: int = option(A100_80GB_LLAMA2_7B_BLOCKS,
                            "KV-cache blocks (default: Llama-2-7b fp16 on an A100-80GB at 0.9 memory use)")
    watermark: float = option(0.01, "fraction of blocks admission leaves free (vLLM default 0.01)")
    max_model_len: int = option(0, "longest prompt + output accepted (vLLM --max-model-len); "
                                   "0 = what the KV cache holds")
    chunked_prefill: bool = option(True, "vLLM's default scheduler: decodes first, then prefill chunks "
                                         "up to the budget")
    prefix_caching: bool = option(True, "automatic prefix caching of full prompt blocks (vLLM --enable-prefix-caching)")

    def __post_init__(self) -> None:
        if min(self.max_num_seqs, self.max_batched_tokens, self.block_size, self.kv_blocks) < 1:
            raise ValueError("replica sizes must be positive")
        if not 0 <= self.watermark < 1:
            raise ValueError("watermark must be in [0, 1)")
        if self.max_model_len < 0:
            raise ValueError("max_model_len must be ≥ 0 (0 = limited by the KV cache)")

    @property
    def context_limit(self) -> int:
        """Longest prompt + output this replica accepts, in tokens."""
        usable = (self.kv_blocks - int(self.watermark * self.kv_blocks)) * self.block_size
        return min(self.max_model_len, usable) if self.max_model_len else usable


class ReplicaCore:
    """One replica's scheduler and KV cache (see the module docstring)."""

    def __init__(self, config: ReplicaConfig | None = None, latency: LatencyModel | None = None):
        self.config = config = config or ReplicaConfig()
        self.latency = latency or LatencyModel()
        self.bs = config.block_size
        self.watermark_blocks = int(config.watermark * config.kv_blocks)
        self.limit = config.context_limit
        self.free_blocks = config.kv_blocks
        self.cache = PrefixCache()
        self.waiting: deque[Request] = deque()
        self.running: dict[Request, None] = {}  # insertion order = admission order (LIFO preemption)
        self.partial: dict[Request, None] = {}  # admitted, prefill not finished (chunks still to run)
        self.batch: list[tuple[Request, int]] = []  # prefill chunks (request, tokens) of the iteration in flight
        self.decoding = False  # the iteration in flight also decodes one token for every running request
        self.step = 0  # decode steps done so far
        self.phase = [0] * self.bs  # running requests by (kv0 - joined) mod block_size
        self.kv_offset = 0  # Σ (kv0 - joined) over running: Σ kv = kv_offset + len(running)·step
        self.finish_heap: list[tuple[int, int, int, Request]] = []
        self.pred_heap: list[tuple[int, int, int, Request]] = []
        self.under_pred = 0  # running requests that have not reached their predicted length
        self.pred_left = 0  # Σ predicted remaining decode tokens over those
        self.waiting_tokens = 0  # Σ prefill tokens left + predicted decode tokens over waiting/partial requests
        self.preemptions = 0
        self.rejected = 0
        self.version = 0  # bumps on every state change, for load-signal snapshots
        self.stretch: list[float] = []  # skip-ahead: start time, then the end time of each step of the stretch
        self.planned = 0  # steps of the stretch whose plan (block allocation) is applied
        self.completed = 0  # steps of the stretch applied in full
        self.stretches = 0  # stretches begun (how much skip-ahead saved: steps − stretches events)

    # --- the two calls a driver makes ---------------------------------------------------------------
    def add(self, r: Request) -> bool:
        """Queue `r`; False (and `r` rejected) if it is longer than this replica accepts."""
        if r.keys and (r.key_tokens < self.bs or r.key_tokens % self.bs):
            raise UserError(f"request {r.id}: prefix blocks of {r.key_tokens} tokens are not a multiple of the "
                            f"replica's {self.bs}-token KV blocks")
        if r.prompt + r.output > self.limit:
            r.state = REJECTED
            self.rejected += 1
            return False
        r.state = WAITING
        self.waiting.append(r)
        self.waiting_tokens += r.prompt + r.gen + max(r.predicted - r.gen, 0)
        self.version += 1
        return True

    def plan(self, now: float) -> float | None:
        """Schedule the next iteration; its duration in seconds, or None when there is nothing to do."""
        self.version += 1
        self.batch = []
        if self.config.chunked_prefill:
            return self._plan_chunked(now)
        if self.waiting:
            duration = self._plan_prefill(now)
            if duration is not None:
                return duration
        preempted = self.preemptions
        if not self._reserve_decode():  # nothing runs, or everything was preempted: prefill again
            return self.plan(now) if self.preemptions != preempted else None
        self.decoding = True
        n = len(self.running)
        return self.latency.iteration_s(n, 0, self.kv_offset + n * self.step)

    def complete(self, now: float) -> list[Request]:
        """Apply the planned iteration at time `now`; return the requests that finished."""
        done: list[Request] = []
        self.version += 1
        if self.decoding:
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
        for r, chunk in self.batch:
            r.done += chunk
            self.waiting_tokens -= chunk
            self._fill_cache(r)
            if r.done < r.prompt + r.gen:
                continue
            del self.partial[r]
            self.waiting_tokens -= max(r.predicted - r.gen, 0)
            r.gen += 1
            if r.first_token is None:
                r.first_token = now
            if r.gen >= r.output:
                self._release(r, r.blocks)
                self._done(r, now, done)
            else:
                self._join(r)
        self.batch = []
        self.decoding = False
        return done

    def abort(self, r: Request) -> None:
        """Cut `r` short (its client went away, like vLLM's abort): it finishes with what it has.

        A waiting request leaves now. One in flight ends at the end of its prefill or of the
        current decode step, so the blocks planned for that iteration are returned by the normal
        bookkeeping.
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
        return len(self.waiting) + len(self.running) + len(self.partial)

    @property
    def kv_util(self) -> float:
        """Fraction of blocks in use; cached blocks nobody references count as free (vLLM's kv_cache_usage)."""
        return 1.0 - (self.free_blocks + self.cache.evictable_blocks) / self.config.kv_blocks

    def cached_prefix(self, r: Request) -> int:
        """Prompt tokens of `r` this replica holds in its prefix cache right now (contiguous from the start)."""
        if not r.keys or not self.config.prefix_caching:
            return 0
        return self.cache.contains(r.full_keys) * r.key_tokens

    def signal(self, replica: int, now: float) -> LoadSignal:
        return LoadSignal(replica, self.version, now, self.requests, len(self.waiting), self.outstanding_tokens,
                          self.kv_util, self.config.kv_blocks * self.bs, self.config.max_num_seqs,
                          self.cache.size if self.config.prefix_caching else None)

    def blocks_in_use(self) -> int:
        """Blocks held by requests or by the prefix cache, recounted from scratch (for invariant checks)."""
        held = sum(-(-(r.kv0 + self.step - r.joined) // self.bs) - len(r.held) * (r.key_tokens // self.bs)
                   for r in self.running)
        return held + sum(r.blocks for r in self.partial) + sum(self.cache.size.values())

    # --- skip-ahead ---------------------------------------------------------------------------
    def begin_stretch(self, now: float, most: int = 256) -> bool:
        """Start a stretch of ≥ 2 decode-only steps at `now` if nothing can change the batch before it ends.

        It ends at the step that finishes the next request, or before a step whose blocks might
        not be there (a preemption is decided step by step), or after `most` steps (a new request
        cuts most stretches short, and the steps planned past the cut are wasted work). On True, the driver waits until
        ``stretch[-1]``, calls :meth:`sync` and then :meth:`complete` for the last step.
        """
        if self.waiting or self.partial or not self.running:
            return False
        heap = self.finish_heap
        while heap and heap[0][3].epoch != heap[0][2]:
            heapq.heappop(heap)  # stale entries are skipped step by step too; dropping them early changes nothing
        step, bs, n = self.step, self.bs, len(self.running)
        limit = min(most, heap[0][0] - step if heap else most)
        if limit < 2:
            return False
        available = self.free_blocks + self.cache.evictable_blocks
        phase = self.phase
        k = 0
        while k < limit:
            available -= phase[-(step + k) % bs]
            if available < 0:
                break
            k += 1
        if k < 2:
            return False
        times = self.latency.decode_ends(now, n, self.kv_offset + n * step, k)
        t = times[-1]
        if now + (t - now) != t:  # the driver's single wait must land on the exact step-by-step time
            return False
        self.stretch = times
        self.stretches += 1
        self.planned = self.completed = 0
        self._bulk_plan(1)
        return True

    def sync(self, now: float) -> None:
        """Apply the steps of the stretch that ended by `now`, and plan the one in flight."""
        times = self.stretch
        if not times:
            return
        done = min(bisect_right(times, now) - 1, len(times) - 2)  # the last step is the driver's complete()
        if done > self.completed:
            self._bulk_plan(done + 1 - self.planned)
            self._bulk_complete(done - self.completed)

    def cut(self, now: float) -> bool:
        """End the stretch with the step in flight at `now` (a new request arrived); True if it got shorter."""
        if not self.stretch:
            return False
        self.sync(now)
        end = self.planned
        if end >= len(self.stretch) - 1:
            return False
        del self.stretch[end + 1:]
        return True

    def end_stretch(self) -> None:
        self.stretch = []

    def _bulk_plan(self, steps: int) -> None:
        """The plans of the next `steps` decode steps: version bumps and their new blocks, at once."""
        if steps <= 0:
            return
        bs, phase = self.bs, self.phase
        first = self.step + self.planned - self.completed
        full, rest = divmod(steps, bs)
        need = full * sum(phase) + sum(phase[-(first + j) % bs] for j in range(rest))
        self._alloc(need)  # the same blocks (and the same LRU evictions) as one step at a time
        self.planned += steps
        self.version += steps
        self.batch = []
        self.decoding = True

    def _bulk_complete(self, steps: int) -> None:
        """The completions of `steps` planned decode steps in which no request finishes."""
        if steps <= 0:
            return
        target = self.step + steps
        heap = self.pred_heap
        cur = self.step
        while heap and heap[0][0] <= target:
            at, _, epoch, r = heapq.heappop(heap)
            self.pred_left -= self.under_pred * (at - cur)
            cur = at
            if r.epoch == epoch:
                self.under_pred -= 1
        self.pred_left -= self.under_pred * (target - cur)
        self.step = target
        self.completed += steps
        self.version += steps

    # --- internals ------------------------------------------------------------------------------
    def _plan_chunked(self, now: float) -> float | None:
        cfg = self.config
        decoding = self._reserve_decode()
        n = len(self.running)
        budget = cfg.max_batched_tokens - n
        tokens = n
        square = 0
        batch = self.batch
        for r in self.partial:
            if budget <= 0:
                break
            chunk = min(r.prompt + r.gen - r.done, budget)
            batch.append((r, chunk))
            budget -= chunk
            tokens += chunk
            square += (r.done + chunk) ** 2 - r.done**2
        slots = cfg.max_num_seqs - n - len(self.partial)
        while self.waiting and slots > 0 and budget > 0 and self._admit(self.waiting[0], now, None):
            r = self.waiting.popleft()
            slots -= 1
            chunk = min(r.prompt + r.gen - r.done, budget)
            batch.append((r, chunk))
            budget -= chunk
            tokens += chunk
            square += (r.done + chunk) ** 2 - r.done**2
        if not decoding and not batch:
            return None
        self.decoding = decoding
        return self.latency.iteration_s(tokens, square, self.kv_offset + n * self.step if decoding else 0)

    def _plan_prefill(self, now: float) -> float | None:
        cfg = self.config
        tokens = 0
        square = 0
        slots = cfg.max_num_seqs - len(self.running)
        while self.waiting and slots > 0:
            r = self.waiting[0]
            budget = cfg.max_batched_tokens - tokens if self.batch else None
            if not self._admit(r, now, budget):
                break
            self.waiting.popleft()
            slots -= 1
            chunk = r.prompt + r.gen - r.done
            self.batch.append((r, chunk))
            tokens += chunk
            square += (r.done + chunk) ** 2 - r.done**2
        if not self.batch:
            return None
        self.decoding = False
        return self.latency.iteration_s(tokens, square, 0)

    def _admit(self, r: Request, now: float, budget: int | None) -> bool:
        """Give `r` its blocks (reusing cached prefix blocks) if they fit; False leaves it waiting.

        `budget`: most prefill tokens it may bring (None = no limit, the first of a batch).
        """
        n = r.prompt + r.gen
        unit = r.key_tokens
        keys = r.full_keys if self.config.prefix_caching else ()
        hit, reclaim = self.cache.match(keys)
        if hit * unit >= n:  # at least the last token is computed, to produce the next one
            hit, reclaim = self.cache.match(keys[:(n - 1) // unit])
        cached = hit * unit
        if budget is not None and n - cached > budget:
            return False
        need = -(-n // self.bs) - cached // self.bs
        if self.free_blocks + self.cache.evictable_blocks - reclaim - need < self.watermark_blocks:
            return False
        self.cache.acquire(keys[:hit])
        r.held = list(keys[:hit])
        self._alloc(need)
        r.blocks = need
        r.done = cached
        r.state = PREFILL
        self.partial[r] = None
        self.cache.queries += n
        self.cache.hits += cached
        self.waiting_tokens -= cached
        if r.cached is None:
            r.cached = cached
        if r.started is None:
            r.started = now
        return True

    def _fill_cache(self, r: Request) -> None:
        """Cache the prompt blocks `r` has finished computing (full key blocks only)."""
        if not r.keys or not self.config.prefix_caching:
            return
        unit = r.key_tokens
        per_key = unit // self.bs
        full = min(len(r.keys), min(r.done, r.prompt) // unit)
        for i in range(len(r.held), full):
            if not self.cache.insert(r.keys[i], per_key):
                break  # someone cached it first: keep ours private (the chain behind it is not ours to share)
            r.held.append(r.keys[i])
            r.blocks -= per_key

    def _alloc(self, blocks: int) -> None:
        if blocks > self.free_blocks:
            self.free_blocks += self.cache.evict(blocks - self.free_blocks)
        self.free_blocks -= blocks

    def _release(self, r: Request, private: int) -> None:
        """Free `r`'s private blocks and drop its references to cached ones."""
        self.free_blocks += private
        self.cache.release(r.held)
        r.held = []
        r.blocks = 0

    def _reserve_decode(self) -> bool:
        """Blocks for one decode step of every running request, preempting if needed; False if none runs."""
        while self.running:
            need = self.phase[-self.step % self.bs]
            if need <= self.free_blocks + self.cache.evictable_blocks:
                self._alloc(need)
                return True
            self._preempt(next(reversed(self.partial)) if self.partial else next(reversed(self.running)))
        return False

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
        total = -(-(offset + self.step) // self.bs)
        self._release(r, total - len(r.held) * (r.key_tokens // self.bs if r.held else 0))
        r.gen = r.g0 + self.step - r.joined
        left = r.predicted - r.gen
        if left > 0:
            self.under_pred -= 1
            self.pred_left -= left
        r.epoch += 1  # invalidates its heap entries

    def _preempt(self, r: Request) -> None:
        if r.state == PREFILL:
            del self.partial[r]
            self.waiting_tokens -= r.prompt + r.gen - r.done + max(r.predicted - r.gen, 0)
            self._release(r, r.blocks)
        else:
            self._leave(r)
        r.state = WAITING
        r.done = 0
        r.preemptions += 1
        self.preemptions += 1
        self.waiting.appendleft(r)
        self.waiting_tokens += r.prompt + r.gen + max(r.predicted - r.gen, 0)

    def _done(self, r: Request, now: float, done: list[Request]) -> None:
        r.state = DONE
        r.finished = now
        r.blocks = 0
        done.append(r)
