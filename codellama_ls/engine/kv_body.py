"""The window's body: KV sequence 1, kept beside the prompt's sequence 0 (the bookkeeping; pure).

A LINE prompt is [BOS, PRE] + the lines above the cursor line + [SUF] + ...  The body holds
[BOS, PRE] + the lines of the whole window, so a request on any line of the window finds the lines
above it there, also below the previous cursor (docs/prompt-layout.md). It shares its KV cells with
sequence 0 where they agree (llama.cpp's unified cache: a copy is no compute), and `warm` evaluates
the rest while the user reads. This class decides what is copied, trimmed and evaluated; the llama.cpp
engine gives it the cache's sequence operations and a decoder into sequence 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from codellama_ls.prompts.fim import FimTokens

PROMPT, BODY = 0, 1
"""The KV sequences: the prompt being evaluated, and the window's body."""

Decode = Callable[[list[int], int], bool]
"""Evaluate these tokens into the body's sequence from this position; False when it did not finish."""


class Sequences(Protocol):
    """The KV cache's sequence operations (llama-cpp-python's `LlamaContext` has them)."""

    def kv_cache_seq_rm(self, seq_id: int, p0: int, p1: int) -> Any: ...

    def kv_cache_seq_cp(self, seq_id_src: int, seq_id_dst: int, p0: int, p1: int) -> Any: ...


def common_prefix(cached: Sequence[int] | np.ndarray, prompt: Sequence[int]) -> int:
    n = min(len(cached), len(prompt))
    a = np.asarray(cached[:n], dtype=np.int64)
    differ = np.flatnonzero(a != np.asarray(prompt[:n], dtype=np.int64))
    return int(differ[0]) if differ.size else n


def lines_end(prompt: list[int], fim: FimTokens | None, bos: int | None) -> int:
    """Where the lines above the head end in a LINE (or PSM) prompt: its <SUF>; 0 for others."""
    if fim is None:
        return 0
    first = 1 if bos is not None and prompt[:1] == [bos] else 0
    if fim.repo_name is not None and prompt[first : first + 1] == [fim.repo_name]:
        # A repository-level header (the other files) comes before the prefix token.
        first = prompt.index(fim.prefix, first) if fim.prefix in prompt else first
    if prompt[first : first + 1] != [fim.prefix]:
        return 0
    try:
        return prompt.index(fim.suffix, first + 1)
    except ValueError:
        return 0


class KvBody:
    def __init__(
        self, sequences: Sequences, cells: int, fim: FimTokens | None, bos: int | None, enabled: bool = True
    ) -> None:
        """`cells`: the context's size, shared by the prompt, its generation and the body. Not
        `enabled` (a context with one sequence), every method does nothing."""
        self._sequences = sequences
        self._cells = cells
        self._fim, self._bos = fim, bos
        self.enabled = enabled
        self.tokens: list[int] = []
        """What the body's sequence holds."""
        self.shared = 0
        """The prompt sequence's first `shared` tokens are the body's cells (copied one way or the other)."""

    def trim(self, keep: int) -> None:
        keep = max(keep, 0)
        if keep < len(self.tokens):
            self._sequences.kv_cache_seq_rm(BODY, keep, -1)
            del self.tokens[keep:]
        self.shared = min(self.shared, keep)

    def forget(self) -> None:
        """The cache was emptied (both sequences)."""
        self.tokens = []
        self.shared = 0

    def take(self, prompt: list[int], cached: Sequence[int] | np.ndarray, max_tokens: int) -> int:
        """Before `prompt` is evaluated, with the prompt sequence holding `cached`: when the body holds
        more of the prompt, the prompt sequence becomes a copy of the body's beginning. Returns how many
        tokens it now holds from the body (0: it keeps its own). Then trims the body so that the prompt
        and `max_tokens` fit beside it."""
        if not self.enabled:
            return 0
        own = common_prefix(cached, prompt)
        from_body = min(common_prefix(self.tokens, prompt), len(prompt) - 1)
        if from_body < lines_end(prompt, self._fim, self._bos):
            # The prompt's lines part from the body's: its rest was made from other text (another
            # window, lines edited since), which no prompt of this text can use, and its cells would
            # lengthen every attention row of this evaluation (a far move then took twice as long).
            self.trim(from_body)
        taken = 0
        if from_body > own:
            self._sequences.kv_cache_seq_rm(PROMPT, 0, -1)
            self._sequences.kv_cache_seq_cp(BODY, PROMPT, 0, from_body)
            self.shared = taken = from_body
        else:
            self.shared = min(self.shared, own)
        excess = len(prompt) + max_tokens + 1 + len(self.tokens) - self.shared - self._cells
        if excess > 0:
            self.trim(len(self.tokens) - excess)
        return taken

    def keep(self, prompt: list[int]) -> None:
        """After `prompt` is evaluated, its lines become the body's beginning (a copy, no compute)."""
        end = lines_end(prompt, self._fim, self._bos) if self.enabled else 0
        if end <= 2:
            return
        common = common_prefix(self.tokens, prompt[:end])
        if common < min(len(self.tokens), end):
            self.trim(common)
        if len(self.tokens) < end:
            self._sequences.kv_cache_seq_cp(PROMPT, BODY, len(self.tokens), end)
            if self.shared >= len(self.tokens):
                self.shared = end
            self.tokens = list(prompt[:end])

    def warm(self, window: list[int], in_prompt: int, batch: int, decode: Decode, cancelled: Callable[[], bool]) -> int:
        """Evaluate the lines of `window` (`[BOS, PRE]` + its lines) that the body lacks, `batch` tokens
        at a time, as far as the cells left beside the prompt's `in_prompt` allow; stops when
        `cancelled()` or a batch does not finish. Returns the tokens evaluated."""
        if not self.enabled or not window:
            return 0
        self.trim(common_prefix(self.tokens, window))
        # Cells: the prompt sequence, its generation, and the body's own cells.
        room = self._cells - in_prompt - 1 + self.shared - len(self.tokens)
        end = min(len(window), len(self.tokens) + max(room, 0))
        done = 0
        for start in range(len(self.tokens), end, batch):
            if cancelled():
                break
            part = window[start : min(start + batch, end)]
            if not decode(part, start):
                self._sequences.kv_cache_seq_rm(BODY, start, -1)  # an aborted batch keeps part of itself
                break
            self.tokens.extend(part)
            done += len(part)
        return done
