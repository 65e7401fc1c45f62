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


def _estimate(length: int) -> int:
    """Tokens of `length` characters, a cheap upper-ish bound where counting would cost too much."""
    return length // 2 + 1


def _cost(text: str, start: int, end: int, count: CountTokens) -> int:
    """Tokens of the line ``text[start:end]``; a long one is estimated from its length, uncopied."""
    if end - start > _LONG_LINE:
        return _estimate(end - start)
    return count(text[start:end])


def _reach(budget: int) -> int:
    """How far a line end is looked for: a line longer than this costs more than ``budget``
    (it is over `_LONG_LINE`, so estimated at half a token a character), so no search, copy
    or count goes further than the budget can pay for, however long the line."""
    return max(_LONG_LINE, 2 * max(budget, 0)) + 1


def _line_end_within(text: str, start: int, end: int, reach: int) -> int | None:
    """End (after its newline) of the line starting at ``start``, cut at ``end``; None when
    it reaches more than ``reach`` further."""
    newline = text.find("\n", start, min(end, start + reach))
    if newline >= 0:
        return newline + 1
    return end if end - start < reach else None


def _span_cost(text: str, start: int, end: int, count: CountTokens, limit: int) -> int:
    """Tokens of ``text[start:end]`` line by line, stopping once over ``limit``: the work is
    bounded by the budget, not by the span (a scope can be a whole minified file)."""
    used = 0
    while start < end and used <= limit:
        line_end = _line_end_within(text, start, end, _reach(limit - used))
        if line_end is None:
            return limit + 1
        used += _cost(text, start, line_end, count)
        start = line_end
    return used


def _take_suffix(text: str, offset: int, budget: int, count: CountTokens) -> tuple[int, int]:
    """End offset of the suffix and the tokens it uses."""
    used = 0
    end = offset
    while end < len(text):
        line_end = _line_end_within(text, end, len(text), _reach(budget - used))
        cost = budget + 1 if line_end is None else _cost(text, end, line_end, count)
        if used + cost > budget:
            if end == offset:
                # The rest of the cursor line alone is over budget: keep what fits.
                end = min(line_end or len(text), offset + max(budget, 0) * 2)
            break
        used += cost
        assert line_end is not None
        end = line_end
    return end, used


def _line_start_within(text: str, end: int, reach: int) -> int | None:
    """Start of the line ending at ``end``, or None when it starts more than ``reach`` back."""
    floor = max(end - reach, 0)
    start = text.rfind("\n", floor, end) + 1
    return None if start == 0 and floor > 0 else start


def _take_prefix(text: str, offset: int, budget: int, count: CountTokens) -> int:
    """Start offset of the prefix."""
    line_start = _line_start_within(text, offset, _reach(budget))
    if line_start is None:
        return max(offset - max(budget, 0) * 2, 0)  # a head of line over any budget: keep its end
    used = _cost(text, line_start, offset, count)
    if used > budget:
        # The head of the cursor line alone is over budget: keep its end.
        return max(line_start, offset - max(budget, 0) * 2)
    start = line_start
    while start > 0:
        # text[start - 1] is the newline that ends the previous line.
        previous = _line_start_within(text, start - 1, _reach(budget - used))
        if previous is None:
            break
        cost = _cost(text, previous, start, count)
        if used + cost > budget:
            break
        used += cost
        start = previous
    return start


def cut_window(
    text: str,
    offset: int,
    budget: int,
    count: CountTokens,
    suffix_share: float = 0.25,
    scopes: Sequence[tuple[int, int]] = (),
    header: tuple[int, int] | None = None,
    sticky_start: int | None = None,
    suffix_cap: float | None = None,
    fresh_window: int | None = None,
) -> Window:
    """`scopes` are the enclosing functions/classes (innermost first) as document offsets;
    `header` is the span of the file's imports/package/includes; `sticky_start` is where the
    previous window of this document started: kept while it fits, so the prompt's start (and the
    KV cache behind it) does not move with every keystroke. `suffix_cap`: in a window trimmed
    above, the suffix takes at most this part of the tokens of the lines above the cursor line.
    `fresh_window`: the most tokens (prefix and suffix) a window takes when it starts afresh (no sticky
    start kept), so that a cold prompt costs a bounded time whatever the context size."""
    if not 0 <= offset <= len(text):
        raise ValueError(f"offset {offset} outside the document (0..{len(text)})")
    suffix_budget = int(budget * suffix_share)
    # The largest enclosing scope that fits stays whole: its rest goes into the suffix even past its share.
    for scope_start, scope_end in reversed(scopes):
        if not scope_start <= offset <= scope_end:
            continue
        rest = _span_cost(text, offset, scope_end, count, budget)
        if rest <= budget and _span_cost(text, scope_start, offset, count, budget - rest) + rest <= budget:
            suffix_budget = max(suffix_budget, min(rest + 1, budget))
            break
    end, used = _take_suffix(text, offset, suffix_budget, count)
    room = budget - used
    head = ""
    if header is not None:
        # Kept before a trimmed window (imports, package), paid for with prefix lines; dropped below
        # where the window holds those lines itself. Decided before the start, whose room it takes.
        header_start = _line_start_within(text, header[0], _reach(room))
        header_end = _line_end_within(text, header[1], len(text), _reach(room))
        if header_start is not None and header_end is not None:
            head = text[header_start:header_end]
        head_cost = _span_cost(head, 0, len(head), count, room)
        if head and head_cost < room // 2:
            room -= head_cost
        else:
            head = ""
    start = _take_prefix(text, offset, room, count)
    # A fresh start leaves a quarter of the room to grow into (below), and `fresh_window` bounds
    # what a cold prompt costs; the suffix is cut to `suffix_cap` of the prefix below, so with a
    # cap the prefix may take more of that bound.
    fresh = room * 3 // 4 if start > 0 else room
    if fresh_window is not None:
        share = fresh_window - used if suffix_cap is None else max(fresh_window - used, fresh_window / (1 + suffix_cap))
        fresh = min(fresh, int(share))
    valid = (
        sticky_start is not None
        and start <= sticky_start <= offset
        and (sticky_start == 0 or text[sticky_start - 1] == "\n")
    )
    # The sticky start stays while the prefix from it keeps a quarter of the room, or half a fresh
    # prefix where that is less: a cursor moved up by half a fresh window (8 lines at a 1,024-token
    # context re-anchored a move between neighbouring functions) or down until the room is full
    # keeps the prompt's beginning, and the KV cache behind it (docs/prompt-layout.md);
    # `suffix_cap` keeps the suffix in proportion. Also when the whole top of the file would now fit
    # (common at n_ctx 4,096 and more): starting at 0 would put new tokens first and re-evaluate all.
    keep = min(room // 4, fresh // 2)
    if valid and sticky_start is not None and _span_cost(text, start, sticky_start, count, room) < room - keep:
        start = sticky_start
    else:
        # No usable sticky start: a trimmed window starts with room to grow, so the start stays put
        # for many keystrokes (and short cursor moves) before it has to move again.
        start = _take_prefix(text, offset, fresh, count)
    if header is None or start == 0 or header[1] > start:
        head = ""  # the window holds the header's lines itself
    if start > 0 and suffix_cap is not None:
        # What a cursor move re-evaluates is the suffix (and the head): kept in proportion to the
        # lines above, a move up within the anchor costs a bounded part of the prompt.
        line_start = text.rfind("\n", start, offset) + 1 or start
        cap = int(suffix_cap * _span_cost(text, start, line_start, count, budget))
        if used > cap:
            end, used = _take_suffix(text, offset, cap, count)
    return Window(head + text[start:offset], text[offset:end], start, end, header=head)


def reach_below(text: str, start: int, offset: int, budget: int, count: CountTokens) -> int:
    """The end of the last whole line below `offset` that a prefix from `start` of at most `budget`
    tokens can reach: how far the cursor can move down while a window keeps `start`."""
    used = _span_cost(text, start, offset, count, budget)
    end, _ = _take_suffix(text, offset, budget - used, count)
    return end
