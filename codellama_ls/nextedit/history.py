"""The user's recent edits, as unified-diff hunks, for next-edit prompts (pure).

Every `didChange` is compared with the text before it (`line_change`); a change that touches the
lines of the file's previous one, soon after it and of the same kind, is coalesced into it, so typing
a word (or a whole renamed parameter) is one hunk. Hunks are kept per workspace, in the order they
were made, each naming its file, bounded by count and by size. A change that brings a file back to
what it was before its last hunk removes that hunk (typed, then deleted, is no edit at all).

`hunks_between` makes the same hunks from two versions of a file (a commit's parent and child), for
benchmarks that replay real history.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum

from codellama_ls.documents.positions import common_affixes

CONTEXT_LINES = 3
"""Unchanged lines shown above and below a hunk's change."""
COALESCE_S = 3.0
"""A change this soon after the file's last hunk, touching its lines, extends it."""
MAX_HUNK_CHARS = 4_000
"""A larger change (a reformatted file, a big paste) is no hint of the next edit: not kept."""


class EditKind(str, Enum):
    TYPED = "typed"
    PASTED = "pasted"
    """Several lines, or a long text, inserted at once (a paste, an accepted completion)."""
    ACCEPTED = "accepted"
    """A next edit the client said it applied (`codellama/nextEditAccepted`)."""


@dataclass(frozen=True)
class LineChange:
    """Lines `start .. start+len(old)` of the text before became `new` (lines without their newline)."""

    start: int
    old: tuple[str, ...]
    new: tuple[str, ...]
    offset: int = 0
    """The str offset where line `start` begins (the same in both texts: everything before it is)."""


@dataclass(frozen=True)
class Hunk:
    """One coalesced edit of one file, with a few unchanged lines around it."""

    path: str
    """The file as the prompt names it (relative to the workspace folder where possible)."""
    start: int
    """0-based line where `old` stood before the edit and `new` stands after it."""
    old: tuple[str, ...]
    new: tuple[str, ...]
    above: tuple[str, ...] = ()
    """Unchanged context lines just above the change (the same before and after)."""
    below: tuple[str, ...] = ()
    kind: EditKind = EditKind.TYPED
    uri: str = ""
    at: float = 0.0
    """When it was last extended (the caller's clock)."""

    def unified(self) -> str:
        """The hunk as unified diff text: its `@@` header, context, `-` and `+` lines; ends with a newline."""
        first = self.start - len(self.above)
        span = len(self.above) + len(self.below)
        old_count, new_count = len(self.old) + span, len(self.new) + span
        lines = [f"@@ -{_range(first, old_count)} +{_range(first, new_count)} @@"]
        lines += [" " + line for line in self.above]
        lines += ["-" + line for line in self.old]
        lines += ["+" + line for line in self.new]
        lines += [" " + line for line in self.below]
        return "\n".join(lines) + "\n"

    def before_text(self) -> str:
        """The hunk's lines before the edit, context included (no final newline)."""
        return "\n".join((*self.above, *self.old, *self.below))

    def after_text(self) -> str:
        return "\n".join((*self.above, *self.new, *self.below))

    @property
    def size(self) -> int:
        return sum(len(line) + 1 for line in (*self.above, *self.old, *self.new, *self.below))


def _range(first: int, count: int) -> str:
    # Unified diff numbers lines from 1; an empty side names the line before it.
    start = first + 1 if count else first
    return f"{start},{count}"


def _common_lead(a: Sequence[str], b: Sequence[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _trimmed(start: int, old: Sequence[str], new: Sequence[str], offset: int = 0) -> LineChange:
    lead = _common_lead(old, new)
    offset += sum(len(line) + 1 for line in old[:lead])
    old, new = old[lead:], new[lead:]
    trail = _common_lead(old[::-1], new[::-1])
    return LineChange(start + lead, tuple(old[: len(old) - trail]), tuple(new[: len(new) - trail]), offset)


def line_change(before: str, after: str) -> LineChange | None:
    """The whole lines that differ between two texts of a file; None when they are equal."""
    if before == after:
        return None
    prefix, suffix = common_affixes(before, after)
    first = before.rfind("\n", 0, prefix) + 1
    start = before.count("\n", 0, first)
    old_end = before.find("\n", len(before) - suffix)
    new_end = after.find("\n", len(after) - suffix)
    old = before[first : len(before) if old_end < 0 else old_end].split("\n")
    new = after[first : len(after) if new_end < 0 else new_end].split("\n")
    return _trimmed(start, old, new, first)


def _lines_between(text: str, line: int, offset: int, lo: int, hi: int) -> list[str]:
    """Lines `lo .. hi` of `text` (clamped to its lines; a final newline starts no line), found by
    walking from line `line`, which begins at `offset`: the work is the lines walked, not the file."""
    lo = max(0, lo)
    while line > lo:
        offset = text.rfind("\n", 0, offset - 1) + 1
        line -= 1
    found: list[str] = []
    while line < hi:
        if offset == len(text) and text and line > 0:
            break  # after the final newline
        end = text.find("\n", offset)
        if line >= lo:
            found.append(text[offset : len(text) if end < 0 else end])
        if end < 0:
            break
        offset, line = end + 1, line + 1
    return found


def _lines(text: str) -> list[str]:
    """The text's lines; a final newline ends the last line rather than starting an empty one."""
    lines = text.split("\n")
    return lines[:-1] if len(lines) > 1 and not lines[-1] else lines


def _context(lines: Sequence[str], start: int, count: int, context: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    above = tuple(lines[max(0, start - context) : start])
    below = tuple(lines[start + count : start + count + context])
    return above, below


def hunks_between(path: str, before: str, after: str, context: int = CONTEXT_LINES) -> list[Hunk]:
    """The hunks that turn `before` into `after` (two versions of one file), in file order."""
    old_lines, new_lines = _lines(before), _lines(after)
    hunks: list[Hunk] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        above, below = _context(new_lines, j1, j2 - j1, context)
        hunks.append(Hunk(path, j1, tuple(old_lines[i1:i2]), tuple(new_lines[j1:j2]), above, below))
    return hunks


def classify(inserted: str) -> EditKind:
    """What one change event looks like: several lines or a long text at once is pasted."""
    return EditKind.PASTED if inserted.count("\n") >= 2 or len(inserted) > 40 else EditKind.TYPED


class EditHistory:
    """The workspace's recent edits, oldest first (event loop; no I/O)."""

    def __init__(self, max_hunks: int = 8, max_chars: int = 8_000, context: int = CONTEXT_LINES) -> None:
        self.max_hunks = max_hunks
        self.max_chars = max_chars
        """The hunks' text together stays under this (about a quarter as many tokens)."""
        self.context = context
        self._hunks: list[Hunk] = []
        self._last: dict[str, Hunk] = {}
        """Per file, its newest hunk while it is still in step with the file (coalescing extends it)."""

    def hunks(self, uri: str | None = None) -> list[Hunk]:
        """The kept hunks, oldest first; only one file's when `uri` is given."""
        return [h for h in self._hunks if uri is None or h.uri == uri]

    def last(self, uri: str) -> Hunk | None:
        """The file's newest hunk while the file is as that hunk left it."""
        return self._last.get(uri)

    def record(self, uri: str, path: str, before: str, after: str, at: float, kind: EditKind) -> Hunk | None:
        """One didChange of `uri` (its whole text before and after); returns the hunk it made or
        extended, None when it made none."""
        change = line_change(before, after)
        if change is None:
            return None
        previous = self._last.get(uri)
        hunk: Hunk | None = None
        if previous is not None and self._extends(previous, change, at, kind):
            self._drop(previous)
            hunk = self._merged(previous, change, before, after, at)
        else:
            end = change.start + len(change.new)
            above = tuple(_lines_between(after, change.start, change.offset, change.start - self.context, change.start))
            below = tuple(_lines_between(after, change.start, change.offset, end, end + self.context))
            hunk = Hunk(path, change.start, change.old, change.new, above, below, kind, uri, at)
        if hunk is None or hunk.size > MAX_HUNK_CHARS:
            self._last.pop(uri, None)  # the next change starts afresh
            return None
        self._hunks.append(hunk)
        self._last[uri] = hunk
        self._bound()
        return hunk

    def forget(self, uri: str) -> None:
        """A closed document's hunks stay (they still say what the user did); only coalescing stops."""
        self._last.pop(uri, None)

    def clear(self) -> None:
        self._hunks.clear()
        self._last.clear()

    def _extends(self, previous: Hunk, change: LineChange, at: float, kind: EditKind) -> bool:
        if kind is not previous.kind or kind is not EditKind.TYPED or at - previous.at > COALESCE_S:
            return False
        # The change rewrites lines the previous one left, or inserts lines at their edge (typing on
        # past a line end); an edit of the line next to them is an edit of its own.
        s, a = previous.start, len(previous.new)
        t, c = change.start, len(change.old)
        if c == 0:
            return s <= t <= s + a
        if a == 0:
            return t <= s <= t + c
        return t < s + a and t + c > s

    def _merged(self, previous: Hunk, change: LineChange, before: str, after: str, at: float) -> Hunk | None:
        s, a = previous.start, len(previous.new)
        t, c = change.start, len(change.old)
        u0, u1 = min(s, t), max(s + a, t + c)
        was = _lines_between(before, t, change.offset, u0, u1)
        original = [*was[: s - u0], *previous.old, *was[s + a - u0 :]]
        now = _lines_between(after, t, change.offset, u0, u1 + len(change.new) - c)
        merged = _trimmed(u0, original, now)
        if not merged.old and not merged.new:
            return None  # undone: nothing left to show
        end = merged.start + len(merged.new)
        above = tuple(_lines_between(after, t, change.offset, merged.start - self.context, merged.start))
        below = tuple(_lines_between(after, t, change.offset, end, end + self.context))
        return replace(previous, start=merged.start, old=merged.old, new=merged.new, above=above, below=below, at=at)

    def _drop(self, hunk: Hunk) -> None:
        self._hunks = [h for h in self._hunks if h is not hunk]

    def _bound(self) -> None:
        while self._hunks and (len(self._hunks) > self.max_hunks or sum(h.size for h in self._hunks) > self.max_chars):
            gone = self._hunks.pop(0)
            if self._last.get(gone.uri) is gone:
                del self._last[gone.uri]
