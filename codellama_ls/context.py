"""The prefix/suffix window around the cursor (pure).

The window is cut at line boundaries so the model never sees half a line at the
far edges, and fits a token budget: the suffix takes at most its share, the
prefix takes everything the suffix leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

CountTokens = Callable[[str], int]

# Lines longer than this are counted by length instead of tokenized: a minified
# line can be megabytes, and 2 chars a token never under-counts real code by much.
_LONG_LINE = 4096


@dataclass(frozen=True)
class Window:
    prefix: str
    suffix: str
    start: int
    """Document offset where the prefix begins."""
    end: int
    """Document offset where the suffix ends."""


def estimate_tokens(text: str) -> int:
    """Cheap upper-ish bound, used where exact counts would cost too much."""
    return len(text) // 2 + 1


def _cost(line: str, count: CountTokens) -> int:
    return estimate_tokens(line) if len(line) > _LONG_LINE else count(line)


def _take_suffix(text: str, offset: int, budget: int, count: CountTokens) -> tuple[int, int]:
    """End offset of the suffix and the tokens it uses."""
    used = 0
    end = offset
    while end < len(text):
        newline = text.find("\n", end)
        line_end = len(text) if newline < 0 else newline + 1
        cost = _cost(text[end:line_end], count)
        if used + cost > budget:
            if end == offset:
                # The rest of the cursor line alone is over budget: keep what fits.
                end = min(line_end, offset + max(budget, 0) * 2)
            break
        used += cost
        end = line_end
    return end, used


def _take_prefix(text: str, offset: int, budget: int, count: CountTokens) -> int:
    """Start offset of the prefix."""
    line_start = text.rfind("\n", 0, offset) + 1
    used = _cost(text[line_start:offset], count)
    if used > budget:
        # The head of the cursor line alone is over budget: keep its end.
        return max(line_start, offset - max(budget, 0) * 2)
    start = line_start
    while start > 0:
        # text[start - 1] is the newline that ends the previous line.
        line_start = text.rfind("\n", 0, start - 1) + 1
        cost = _cost(text[line_start:start], count)
        if used + cost > budget:
            break
        used += cost
        start = line_start
    return start


def cut_window(
    text: str,
    offset: int,
    budget: int,
    count: CountTokens,
    suffix_share: float = 0.25,
) -> Window:
    if not 0 <= offset <= len(text):
        raise ValueError(f"offset {offset} outside the document (0..{len(text)})")
    suffix_budget = int(budget * suffix_share)
    end, used = _take_suffix(text, offset, suffix_budget, count)
    start = _take_prefix(text, offset, budget - used, count)
    return Window(text[start:offset], text[offset:end], start, end)
