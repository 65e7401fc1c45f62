"""Answers without model work, and how long to wait before working (pure).

- `Shown`: the last suggestion of a document; typing its beginning answers the rest at once.
- `Flight`: a generation in progress; when the user types what it already produced, the
  next request waits for it instead of starting over.
- `TypingRate`: the adaptive debounce for automatic requests.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field

# Enough of the text after the cursor to tell "unchanged" apart in practice, plus its length.
_SUFFIX_HEAD = 256


def _suffix_key(text: str, offset: int) -> tuple[str, int]:
    return text[offset : offset + _SUFFIX_HEAD], len(text) - offset


@dataclass(frozen=True)
class Anchor:
    """Where a suggestion was made: the text before the cursor (hashed) and after it."""

    offset: int
    prefix_hash: int
    suffix: tuple[str, int]

    @classmethod
    def of(cls, text: str, offset: int) -> Anchor:
        return cls(offset, hash(text[:offset]), _suffix_key(text, offset))

    def typed(self, text: str, offset: int) -> str | None:
        """What was inserted at the anchor since, or None when anything else changed."""
        if offset < self.offset or _suffix_key(text, offset) != self.suffix:
            return None
        if hash(text[: self.offset]) != self.prefix_hash:
            return None
        return text[self.offset : offset]


@dataclass(frozen=True)
class Shown:
    anchor: Anchor
    text: str
    replace_after: int = 0

    def rest_after(self, text: str, offset: int) -> str | None:
        """The rest of the suggestion when the user typed a proper beginning of it."""
        typed = self.anchor.typed(text, offset)
        if not typed or not self.text.startswith(typed) or len(typed) >= len(self.text):
            return None
        return self.text[len(typed) :]


@dataclass
class Flight:
    anchor: Anchor
    produced: str = ""
    """The suggestion so far, written by the engine thread (a str assignment is atomic)."""

    def continues(self, text: str, offset: int) -> str | None:
        """The typed text when it follows what this generation already produced."""
        typed = self.anchor.typed(text, offset)
        if typed is None or (typed and not self.produced.startswith(typed)):
            return None
        return typed


@dataclass
class TypingRate:
    """Adaptive debounce: while the user types fast, wait half a keystroke interval (at most 50 ms),
    so most requests that the next keystroke would supersede never start; when they pause, wait
    nothing. Kept short because cancelling a started request costs one decode step, while every
    millisecond waited here is added to the suggestion the user does see."""

    fast_ms: float = 250.0
    cap_ms: float = 50.0
    factor: float = 0.5
    intervals: deque[float] = field(default_factory=lambda: deque(maxlen=8))
    last: float | None = None

    def keystroke(self, now: float) -> None:
        if self.last is not None:
            self.intervals.append((now - self.last) * 1000)
        self.last = now

    def debounce_ms(self, now: float) -> float:
        if len(self.intervals) < 3 or self.last is None:
            return 0.0
        typical = statistics.median(self.intervals)
        if typical > self.fast_ms or (now - self.last) * 1000 > self.fast_ms:
            return 0.0
        return min(typical * self.factor, self.cap_ms)
