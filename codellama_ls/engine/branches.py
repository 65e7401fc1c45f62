"""Alternatives as branches of greedy decoding (`LlamaEngine.generate_alternatives`), model-free.

The first generation notes, at every position, its choice and the runner-up tokens (`Trace`). The
likeliest beginnings that differ from it (prefix likelihood up to a position plus the runner-up's) get
branches (`Branches`): each in a KV sequence of its own that starts as a copy of the first
generation's cells up to its branch point (shared cells, no compute), with one row in each of the
first generation's decode steps from then on, so a branch is mostly decoded by the time the first
generation ends; what is left is decoded in lockstep, one row per live branch per step. A better
beginning found later replaces the least likely branch. A branch whose text the consumer's stop rules
would end (`finished`: a line's newline, a block's dedent) gets no more rows: rows nobody will read
slow every step. What rows cost is measured (`BranchBudget`): they ride along, the likeliest
branches' first, and go on in lockstep only within a share of the first generation's own time. The
engine gives the cache's sequence operations, a decoder of rows and its steps' times, so the
bookkeeping is tested with a fake cache and a fake clock.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import numpy as np

from codellama_ls.engine.base import Cancelled, GenerationStats
from codellama_ls.engine.branch_budget import BranchBudget

# A runner-up less likely than this (0.1 %) is no place where the model hesitated: no branch there.
MIN_LOGPROB = float(np.log(1e-3))

Row = tuple[int, int, int]
"""(token, position, sequence) of one row of a decode."""
DecodeRows = Callable[[list[Row]], "np.ndarray | None"]
"""Decode these rows in one batch and return their logits, one row each; None when it failed."""


def _log_norm(logits: np.ndarray, top: float) -> float:
    """log(sum(exp(logits))), `top` their largest."""
    return top + float(np.log(np.exp(logits - top).sum()))


@dataclass
class Candidate:
    score: float
    """The log-likelihood of the beginning: the first generation's tokens before `position`, then `token`."""
    position: int
    token: int
    logprob: float
    """`token`'s own log-probability at `position`."""


@dataclass
class Trace:
    """What greedy decoding chose at each generated position and the beginnings it nearly chose."""

    others: int
    """Runner-up tokens looked at per position."""
    piece: Callable[[int], bytes]
    is_end: Callable[[int], bool]
    context: list[int] = field(default_factory=list)
    """The prompt and the re-spelled (token healing) tokens: where free generation starts."""
    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    taken: int = 0
    """Of `tokens`, how many the consumer took (those after it were decoded ahead, or ended it)."""
    _shared: float = 0.0

    def note(self, logits: np.ndarray, chosen: int) -> float:
        """Record the choice made from one row of logits; returns its log-probability."""
        # Every step of the first generation notes, so this must cost little beside a decode step: an
        # argpartition over a 49k vocabulary took 5 % of SmolLM2's step on a CPU, while a runner-up
        # must be within -MIN_LOGPROB of the top to be one, and few are.
        top = float(logits.max())
        norm = _log_norm(logits, top)
        logprob = float(logits[chosen]) - norm
        position = len(self.tokens)
        # Where the first generation ends, going on instead only lengthens it.
        if self.others and not self.is_end(chosen):
            best = np.flatnonzero(logits >= top + MIN_LOGPROB)
            if best.size > self.others + 1:
                best = best[np.argpartition(logits[best], -(self.others + 1))[-(self.others + 1) :]]
            ranked = sorted((int(t) for t in best if int(t) != chosen), key=lambda t: -float(logits[t]))
            spelled = self.piece(chosen)
            for token in ranked[: self.others]:
                # A token whose text starts the chosen one's ("s" for "self") mostly spells the same
                # text in smaller pieces: its branch would come out the same once cleaned.
                mine = float(logits[token]) - norm
                if mine < MIN_LOGPROB or spelled.startswith(self.piece(token)):
                    continue
                self.candidates.append(Candidate(self._shared + mine, position, token, mine))
        self.tokens.append(chosen)
        self.logprobs.append(logprob)
        self._shared += logprob
        return logprob

    def best(self, count: int, reach: int | None = None) -> list[Candidate]:
        """The `count` likeliest beginnings before position `reach` (all noted ones without it)."""
        found = [c for c in self.candidates if reach is None or c.position < reach]
        found.sort(key=lambda c: (-c.score, c.position))
        return found[:count]


@dataclass
class _Branch:
    candidate: Candidate
    sequence: int
    queue: list[tuple[int, float]]
    """Tokens decoded and not yet read, each with its log-probability."""
    last: int
    """The newest token, to decode next (it is in the queue too)."""
    next_pos: int
    text: str
    """Its text from the start of the suggestion (the re-spelled text included), as far as decoded."""
    decoder: codecs.IncrementalDecoder
    live: bool = True
    finished: bool = False
    """Its text is done by the consumer's stop rules: decoded no further, read to the end of its queue."""


class Branches:
    """Up to `count` branches of one generation, in KV sequences `first_sequence`, +1, ...

    While the first generation runs, `rows()` gives its decode step one row per branch that may go on
    (not finished; within the budget) and `took()` reads their logits; after it, `settle()`
    keeps only branches that start where the first suggestion was taken, and `pieces(i)` reads
    branch i, decoding in lockstep when its queue is empty. `release()` frees their cells; sequence
    0 stays as the first generation left it."""

    def __init__(
        self,
        trace: Trace,
        count: int,
        max_tokens: int,
        first_sequence: int,
        copy: Callable[[int, int], None],
        drop: Callable[[int], None],
        decode: DecodeRows,
        cancelled: Cancelled,
        finished: Callable[[str], bool] | None = None,
        prompt_tokens: int = 0,
        budget: BranchBudget | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.trace = trace
        self._count = count
        self._max_tokens = max_tokens
        self._copy = copy
        """copy(sequence, end): sequence 0's cells of positions before `end` into `sequence`."""
        self._drop = drop
        """drop(sequence): remove every cell of `sequence`."""
        self._decode = decode
        self._cancelled = cancelled
        self._finished = finished
        """finished(text): a branch's text from the start of the suggestion is done (no more rows)."""
        self._prompt_tokens = prompt_tokens
        """Of `trace.context`, the prompt's tokens (the rest re-spell the text before the cursor)."""
        self.budget = budget
        """What the branches may cost (None: a row per branch in every step, and lockstep to the end)."""
        self._clock = clock
        self._free = list(range(first_sequence, first_sequence + count))
        self.branches: list[_Branch] = []
        self.failed = False
        self._released = False
        self.decoded_rows = 0
        """Branch rows decoded (with the first generation's steps, and in lockstep after it)."""

    # -- while the first generation runs ------------------------------------------------

    def rows(self) -> list[Row]:
        """The branches' rows for the first generation's next decode step: the likeliest beginnings
        noted so far get a branch (a better one replaces the least likely), each live one a row."""
        if self.failed or self._released:
            return []
        self._plan(self.trace.best(self._count))
        rows = self._pending_rows()
        if self.budget is not None:
            # The likeliest branches first, within what the budget lets ride along.
            score = {b.sequence: b.candidate.score for b in self.branches}
            rows = sorted(rows, key=lambda row: -score[row[2]])[: self.budget.riding_room()]
        return rows

    def prompt(self, seconds: float) -> None:
        """The prompt's evaluation took `seconds` (the engine's measure)."""
        if self.budget is not None:
            self.budget.prompt(seconds)

    def stepped(self, seconds: float, own_rows: int, riding_rows: int) -> None:
        """One of the first generation's steps took `seconds`, with `riding_rows` of `rows()` in it."""
        if self.budget is not None:
            self.budget.stepped(seconds, own_rows, riding_rows)

    def took(self, logits: np.ndarray | None, rows: list[Row]) -> None:
        """The logits of `rows` (as `rows()` gave them), or None when their decode failed."""
        if logits is None:
            self.fail()
            return
        by_sequence = {branch.sequence: branch for branch in self.branches}
        for index, (_, _, sequence) in enumerate(rows):
            branch = by_sequence.get(sequence)
            if branch is not None:
                self._advance(branch, logits[index])

    def fail(self) -> None:
        """No room for the branches (a full KV cache, say): they end unfinished."""
        self.failed = True
        for branch in self.branches:
            branch.live = False

    # -- after it ------------------------------------------------------------------------

    def settle(self) -> list[int]:
        """The first suggestion took `trace.taken` tokens: branches that start after them only repeat
        it, so they go, and the likeliest beginnings within it that lack a branch get one now.
        Returns the branches' indexes, likeliest first."""
        if not self.failed:
            self._plan(self.trace.best(self._count, self.trace.taken))
        if self.budget is not None:
            self.budget.close(self._clock())
        order = sorted(range(len(self.branches)), key=lambda i: -self.branches[i].candidate.score)
        return order

    def pieces(
        self, index: int, stats: GenerationStats, prompt_tokens: int, piece: Callable[[int], bytes]
    ) -> Generator[str, None, None]:
        """Branch `index`'s text from the start of the suggestion (the re-spelled text, the first
        generation's tokens before its branch point, then its own); `stats` carries its logprob."""
        started = time.perf_counter()
        branch = self.branches[index]
        trace = self.trace
        position = branch.candidate.position
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        stats.stop_reason = "max_tokens"
        try:
            for spelled in [*trace.context[prompt_tokens:], *trace.tokens[:position]]:
                stats.generated_tokens += 1
                text = decoder.decode(piece(spelled))
                if text:
                    yield text
            stats.logprob = sum(trace.logprobs[:position])
            while stats.generated_tokens < self._max_tokens:
                if not branch.queue:
                    if branch.finished:
                        stats.stop_reason = "finished"
                        return
                    if self.failed or not branch.live or self._cancelled():
                        stats.stop_reason = "cancelled"
                        return
                    self._step(branch)
                    continue
                chosen, logprob = branch.queue.pop(0)
                if trace.is_end(chosen):
                    stats.stop_reason = "eot"
                    return
                stats.generated_tokens += 1
                stats.logprob += logprob
                text = decoder.decode(piece(chosen))
                if text:
                    yield text
        finally:
            branch.live = False  # read (or closed): it leaves the batch
            stats.total_ms = (time.perf_counter() - started) * 1000

    def release(self) -> None:
        """Free the branches' own cells (the shared ones stay sequence 0's)."""
        if self._released:
            return
        self._released = True
        for branch in self.branches:
            self._drop(branch.sequence)
        self.branches = []

    # -- the bookkeeping -----------------------------------------------------------------

    def _plan(self, wanted: list[Candidate]) -> None:
        keep = {(c.position, c.token) for c in wanted}
        for branch in list(self.branches):
            if (branch.candidate.position, branch.candidate.token) not in keep:
                self.branches.remove(branch)  # a likelier beginning came, or it starts after the suggestion
                self._drop(branch.sequence)
                self._free.append(branch.sequence)
        have = {(b.candidate.position, b.candidate.token) for b in self.branches}
        base = len(self.trace.context)
        for candidate in wanted:
            if (candidate.position, candidate.token) in have or not self._free:
                continue
            sequence = self._free.pop(0)
            self._drop(sequence)
            self._copy(sequence, base + candidate.position)
            token, start = candidate.token, base + candidate.position
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            spelled = [*self.trace.context[self._prompt_tokens :], *self.trace.tokens[: candidate.position]]
            text = decoder.decode(b"".join(self.trace.piece(t) for t in spelled))
            branch = _Branch(candidate, sequence, [(token, candidate.logprob)], token, start, text, decoder)
            self._read(branch, token)
            self.branches.append(branch)

    def _goes_on(self, branch: _Branch) -> bool:
        limit = len(self.trace.context) + self._max_tokens
        return branch.live and not branch.finished and not self.trace.is_end(branch.last) and branch.next_pos < limit

    def _pending_rows(self) -> list[Row]:
        return [(b.last, b.next_pos, b.sequence) for b in self.branches if self._goes_on(b)]

    def _advance(self, branch: _Branch, logits: np.ndarray) -> None:
        chosen = int(logits.argmax())
        logprob = float(logits[chosen]) - _log_norm(logits, float(logits.max()))
        branch.queue.append((chosen, logprob))
        branch.last = chosen
        branch.next_pos += 1
        self.decoded_rows += 1
        self._read(branch, chosen)

    def _read(self, branch: _Branch, token: int) -> None:
        """The branch's text with `token`, and whether the consumer's stop rules end it there."""
        if self._finished is None or self.trace.is_end(token):
            return
        branch.text += branch.decoder.decode(self.trace.piece(token))
        branch.finished = self._finished(branch.text)

    def _step(self, reading: _Branch) -> None:
        """One decode of the newest token of every live branch that may go on; under a budget, of the
        one being read only: one finished alternative is worth more than two cut off at the deadline."""
        for branch in self.branches:
            if branch.live and not self._goes_on(branch):
                branch.live = False  # ended, or as long as it may be: its queue holds the rest
        rows = self._pending_rows()
        if self.budget is not None:
            rows = [row for row in rows if row[2] == reading.sequence]
            # As long as the first suggestion, it is predicted: a branch whose rest cannot be decoded
            # before the deadline is given up now, its time left to a later one, which has less to go.
            done = reading.next_pos - len(self.trace.context)
            if rows and not self.budget.may_finish(self._clock(), max((self.trace.taken - done) // 2, 1)):
                reading.live = False
                return
        if not rows:
            return
        if self.budget is not None and not self.budget.may_step(self._clock(), len(rows)):
            for branch in self.branches:
                branch.live = False  # out of time: what is decoded and finished is read, the rest ends
            return
        started = self._clock()
        self.took(self._decode(rows), rows)
        if self.budget is not None:
            self.budget.stepped_lockstep(self._clock() - started, len(rows))
