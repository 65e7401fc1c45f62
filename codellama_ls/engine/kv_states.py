"""Each document's saved KV state, kept under a byte budget, the least recently used dropped first (pure).

The llama.cpp engine saves the KV cache of the document it leaves (`llama_state_seq_get_data`) and
restores the one of the document it returns to, so going back and forth between files costs a copy
instead of evaluating the prompt again. This class is the bookkeeping; the engine does the copies.
"""

from __future__ import annotations

from collections import OrderedDict


class SavedStates:
    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        """0 keeps nothing (`state_cache_mb = 0`)."""
        self._states: OrderedDict[str, tuple[bytes, list[int]]] = OrderedDict()

    def fits(self, size: int) -> bool:
        """Whether a state of `size` bytes is worth saving at all."""
        return 0 < size <= self.budget

    def save(self, key: str, data: bytes, tokens: list[int]) -> None:
        """`key`'s state (its bytes and the tokens the cache held), dropping the oldest over budget."""
        self._states[key] = (data, tokens)
        self._states.move_to_end(key)
        while sum(len(saved) for saved, _ in self._states.values()) > self.budget:
            self._states.popitem(last=False)

    def take(self, key: str) -> tuple[bytes, list[int]] | None:
        """`key`'s state, forgotten here: once restored, the cache holds it."""
        return self._states.pop(key, None)

    def __len__(self) -> int:
        return len(self._states)
