"""The prefix/suffix window around the cursor (pure).

The window is cut at line boundaries so the model never sees half a line at the
far edges, and fits a token budget: the suffix takes at most its share, the
prefix takes everything the suffix leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    header: str = ""
    """File header text put before a trimmed prefix (part of `prefix`)."""


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


def _lines_cost(text: str, count: CountTokens) -> int:
    return sum(_cost(line, count) for line in text.splitlines(keepends=True))


def cut_window(
    text: str,
    offset: int,
    budget: int,
    count: CountTokens,
    suffix_share: float = 0.25,
    scopes: Sequence[tuple[int, int]] = (),
    header: tuple[int, int] | None = None,
    anchor: int | None = None,
) -> Window:
    """`scopes` are the enclosing functions/classes (innermost first) as document offsets;
    `header` is the span of the file's imports/package/includes; `anchor` is where the previous
    window of this document started: kept while it fits, so the prompt's start (and the KV cache
    behind it) does not move with every keystroke."""
    if not 0 <= offset <= len(text):
        raise ValueError(f"offset {offset} outside the document (0..{len(text)})")
    suffix_budget = int(budget * suffix_share)
    # The largest enclosing scope that fits stays whole: its rest goes into the suffix even past its share.
    for scope_start, scope_end in reversed(scopes):
        if not scope_start <= offset <= scope_end:
            continue
        rest = _lines_cost(text[offset:scope_end], count)
        if _lines_cost(text[scope_start:offset], count) + rest <= budget:
            suffix_budget = max(suffix_budget, min(rest + 1, budget))
            break
    end, used = _take_suffix(text, offset, suffix_budget, count)
    room = budget - used
    start = _take_prefix(text, offset, room, count)
    head = ""
    if start > 0 and header is not None and header[1] <= start:
        # The file is trimmed: keep its header (imports, package) and give up prefix lines for it.
        header_end = text.find("\n", header[1])
        header_end = len(text) if header_end < 0 else header_end + 1
        head = text[text.rfind("\n", 0, header[0]) + 1 : header_end]
        head_cost = _lines_cost(head, count)
        if head_cost < room // 2:
            room -= head_cost
            start = _take_prefix(text, offset, room, count)
        else:
            head = ""
    if start > 0:
        valid = anchor is not None and start <= anchor <= offset and text[anchor - 1] == "\n"
        if valid and anchor is not None and _lines_cost(text[start:anchor], count) < room // 8:
            start = anchor
        else:
            # Trimmed and no usable anchor: start with room to grow, so the start stays put
            # for many keystrokes before it has to move again.
            start = _take_prefix(text, offset, room * 7 // 8, count)
    return Window(head + text[start:offset], text[offset:end], start, end, header=head)
