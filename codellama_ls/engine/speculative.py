"""Draft tokens by prompt lookup, and how many to draft, for speculative decoding (pure).

Code repeats itself: an identifier, an argument list, a whole line of the
prompt comes back in the suggestion.  When the last tokens also occur earlier
in the prompt or in what was generated, the tokens that followed them there
are a cheap guess of what follows now; the model verifies the guess in one
batch and keeps the longest prefix it agrees with.
"""

from __future__ import annotations

from collections.abc import Iterable

# Draft only after a match of at least this many tokens: shorter ones (a common identifier, `self.`)
# guess wrong too often to pay for a verification batch on a CPU, where each extra row costs most of
# a decode (see benchmarks/README.md, where this and the draft lengths were tuned).
MIN_MATCH = 8
# How far back a match is extended, and how many earlier occurrences are compared: enough to tell
# `self.x = x` of one method from another's, and bounded so a step costs microseconds.
MAX_MATCH = 32
CANDIDATES = 32


class PromptLookup:
    """The token history, indexed by bigram, so the earlier occurrence that shares the longest
    suffix with the history's tail is found without scanning it."""

    def __init__(self, tokens: Iterable[int] = (), min_match: int = MIN_MATCH) -> None:
        self.min_match = max(2, min_match)
        self.tokens: list[int] = []
        # Bigram -> the positions right after each of its occurrences, oldest first.
        self._after: dict[tuple[int, int], list[int]] = {}
        self.extend(tokens)

    def extend(self, tokens: Iterable[int]) -> None:
        for token in tokens:
            self.append(token)

    def append(self, token: int) -> None:
        history = self.tokens
        # Index the bigram that ends at the previous token before this one lands, so a lookup
        # of the current tail never finds itself.
        end = len(history)
        if end >= 2:
            self._after.setdefault((history[end - 2], history[end - 1]), []).append(end)
        history.append(token)

    def match(self) -> tuple[int, int]:
        """(start, length): where the continuation of the longest earlier match of the tail begins,
        and how many tokens matched; length 0 when nothing of at least `min_match` tokens did."""
        history = self.tokens
        end = len(history)
        if end < 2:
            return 0, 0
        found = self._after.get((history[-2], history[-1]))
        if not found:
            return 0, 0
        best_start, best_length = 0, 0
        for start in reversed(found[-CANDIDATES:]):  # newest first: ties go to the latest occurrence
            length = 2
            limit = min(MAX_MATCH, start)
            while length < limit and history[start - length - 1] == history[end - length - 1]:
                length += 1
            if length > best_length:
                best_start, best_length = start, length
                if length >= limit:
                    break
        return (best_start, best_length) if best_length >= self.min_match else (0, 0)

    def draft(self, limit: int) -> list[int]:
        """Up to `limit` tokens that followed the earlier occurrence sharing the longest suffix with the tail."""
        if limit <= 0:
            return []
        start, length = self.match()
        return self.tokens[start : start + limit] if length else []


class NoDrafts(PromptLookup):
    """Never guesses: the speculative loop then decodes one token per step, the reference its output
    is compared with."""

    def draft(self, limit: int) -> list[int]:
        return []


class DraftLength:
    """How many tokens to draft next: longer while drafts are accepted whole, back to what was accepted
    (plus one) after a rejection, so a run of bad guesses costs short verification batches."""

    def __init__(self, limit: int, start: int = 4) -> None:  # 4: see MIN_MATCH
        self.limit = limit
        self.length = max(1, min(start, limit))

    def update(self, drafted: int, accepted: int) -> None:
        if drafted == 0:
            return
        if accepted == drafted:
            self.length = min(self.limit, max(self.length, drafted) * 2)
        else:
            self.length = max(1, min(self.limit, accepted + 1))
