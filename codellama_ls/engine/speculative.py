"""Draft tokens by prompt lookup, for speculative decoding (pure).

Code repeats itself: an identifier, an argument list, a whole line of the
prompt comes back in the suggestion.  When the last few tokens also occur
earlier in the prompt or in what was generated, the tokens that followed them
there are a cheap guess of what follows now; the model verifies the guess in
one batch and keeps the longest prefix it agrees with.
"""

from __future__ import annotations

from collections.abc import Iterable

# Longest n-gram first: a longer match predicts better; a single token matches too often to be worth a batch.
MAX_NGRAM = 3
MIN_NGRAM = 2


class PromptLookup:
    """The token history and, per n-gram size, where each n-gram last ended in it."""

    def __init__(self, tokens: Iterable[int] = ()) -> None:
        self.tokens: list[int] = []
        self._last: dict[int, dict[tuple[int, ...], int]] = {n: {} for n in range(MIN_NGRAM, MAX_NGRAM + 1)}
        self.extend(tokens)

    def extend(self, tokens: Iterable[int]) -> None:
        for token in tokens:
            self.append(token)

    def append(self, token: int) -> None:
        history = self.tokens
        # Index the n-grams that end at the previous token before this one lands, so a lookup of the
        # current tail never finds itself.
        end = len(history)
        for n, table in self._last.items():
            if end >= n:
                table[tuple(history[end - n : end])] = end
        history.append(token)

    def draft(self, limit: int) -> list[int]:
        """Up to `limit` tokens that followed the latest earlier occurrence of the history's tail."""
        if limit <= 0:
            return []
        history = self.tokens
        for n in range(MAX_NGRAM, MIN_NGRAM - 1, -1):
            if len(history) < n:
                continue
            start = self._last[n].get(tuple(history[-n:]))
            if start is not None:
                return history[start : start + limit]
        return []


class NoDrafts(PromptLookup):
    """Never guesses: speculative decoding's loop then decodes one token per step, the reference
    its output must equal."""

    def draft(self, limit: int) -> list[int]:
        return []
