"""Reading a file's next version for less than a whole parse (the index's thread; pure but for the
trees it keeps).

Two ways, tried in this order by `definitions.extract`:
- **a fragment**: a file's `Outline` (a hash per line and the rows where its top-level statements
  start) says which statements a new version changed; only those are parsed and read, and the
  facts of the others are kept, moved by the lines added or removed. Languages whose top-level
  statements parse alone (`FRAGMENT_LANGUAGES`); any doubt (a syntax error in the fragment, a file
  at the definitions cap) falls back to a whole parse.
- **an incremental parse**: the files parsed last keep their tree (`Trees`), and tree-sitter parses
  their next version from it, told the edit (the span between the common prefix and suffix).
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import tree_sitter

# Top-level statements that parse alone, as they do in their file: no `<?php` to open the file, no
# automatic semicolon insertion joining two statements across lines.
FRAGMENT_LANGUAGES = frozenset({"python", "go", "rust", "java", "c", "cpp"})
# Files smaller than this are parsed whole (a millisecond): no outline kept for them.
OUTLINE_MIN_BYTES = 16 * 1024
_COMMENTS = ("comment", "line_comment", "block_comment")


class _Sliceable(Protocol):
    def __len__(self) -> int: ...
    def __getitem__(self, index: slice, /) -> object: ...


_S = TypeVar("_S", bound=_Sliceable)


def digest_of(text: str) -> int:
    return hash(text)


def common_prefix(old: _S, new: _S) -> int:
    """How many leading items (bytes, line hashes) are equal, compared in C a slice at a time."""
    low, high = 0, min(len(old), len(new))
    while low < high:
        middle = (low + high + 1) // 2
        if old[low:middle] == new[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def common_suffix(old: _S, new: _S, limit: int) -> int:
    """How many trailing items are equal, at most `limit`."""
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if old[len(old) - middle : len(old) - low] == new[len(new) - middle : len(new) - low]:
            low = middle
        else:
            high = middle - 1
    return low


# -- an incremental parse ---------------------------------------------------------------


def _point(source: bytes, at: int) -> tuple[int, int]:
    return source.count(b"\n", 0, at), at - (source.rfind(b"\n", 0, at) + 1)


def _edit(tree: tree_sitter.Tree, old: bytes, new: bytes) -> None:
    """Tell `tree` (parsed from `old`) how `new` differs: one replaced span, between the common
    prefix and the common suffix."""
    start = common_prefix(old, new)
    tail = common_suffix(old, new, min(len(old), len(new)) - start)
    old_end, new_end = len(old) - tail, len(new) - tail
    tree.edit(
        start_byte=start,
        old_end_byte=old_end,
        new_end_byte=new_end,
        start_point=_point(old, start),
        old_end_point=_point(old, old_end),
        new_end_point=_point(new, new_end),
    )


class Trees:
    """The source and tree of the files parsed last through it, so that a file's next version (a save,
    an edit another document's request takes, a change on disk) is parsed incrementally: a tree
    costs about 25 times its source in memory, so only a few are kept. One thread uses it."""

    def __init__(self, max_files: int = 8, max_bytes: int = 1 << 20) -> None:
        self.max_files = max_files
        self.max_bytes = max_bytes
        self._held: dict[tuple[str, str], tuple[bytes, tree_sitter.Tree]] = {}
        self.reused = 0
        """Parses that started from a kept tree."""

    def parse(self, parser: tree_sitter.Parser, key: tuple[str, str], source: bytes) -> tree_sitter.Tree:
        held = self._held.pop(key, None)
        if held is None:
            tree = parser.parse(source)
        else:
            old, tree = held
            _edit(tree, old, source)
            tree = parser.parse(source, tree)
            self.reused += 1
        if len(source) <= self.max_bytes // 2:
            self._held[key] = (source, tree)
            total = sum(len(s) for s, _ in self._held.values())
            while len(self._held) > self.max_files or total > self.max_bytes:
                oldest = next(iter(self._held))
                total -= len(self._held.pop(oldest)[0])
        return tree


# -- a fragment ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outline:
    """What a file's next version needs to be read a fragment at a time."""

    hashes: array[int]
    """A hash per line."""
    starts: tuple[int, ...]
    """The rows where a top-level statement starts a line (column 0, nothing else of the file on it)."""
    comments: tuple[bool, ...]
    """Whether the statement at each start is a comment (a definition's doc may be read from it)."""
    parsed_rows: int
    """The rows the last version parsed: all of them, or its fragment's."""
    clean: bool = True
    """No syntax error: its statements' starts can be trusted."""


def line_hashes(lines: Sequence[str]) -> array[int]:
    return array("q", map(hash, lines))


def top_level(root: tree_sitter.Node, offset: int = 0) -> tuple[list[int], list[bool]]:
    """The clean starts of `root`'s statements (rows moved by `offset`) and which are comments."""
    starts: list[int] = []
    comments: list[bool] = []
    previous_end = -1
    for child in root.children:
        row, column = child.start_point
        if column == 0 and row > previous_end:
            starts.append(row + offset)
            comments.append(child.type in _COMMENTS)
        previous_end = max(previous_end, child.end_point[0] - (1 if child.end_point[1] == 0 else 0))
    return starts, comments


@dataclass(frozen=True)
class Rows:
    """Where a new version is read again: rows [first, end) of the old file (`end + moved` in the
    new one). The statements before `keep` come from the old facts: the fragment starts a statement
    early only so that the first changed one sees what precedes it (a comment, a decorator)."""

    first: int
    keep: int
    end: int
    moved: int
    """Lines the new version added (negative: removed)."""


def fragment_rows(outline: Outline, hashes: array[int]) -> Rows | None:
    """The rows a new version (`hashes`) changed, widened to whole top-level statements: one more
    statement before them, and on each side over the comments next to them (a definition's doc);
    None when no line changed."""
    old = outline.hashes
    prefix = common_prefix(old, hashes)
    if prefix == len(old) == len(hashes):
        return None
    suffix = common_suffix(old, hashes, min(len(old), len(hashes)) - prefix)
    last_changed = max(len(old) - suffix - 1, prefix - 1)
    starts, comments = outline.starts, outline.comments
    core = bisect_right(starts, prefix) - 1  # the statement holding the first changed row
    margin = core - 1
    while margin >= 0 and comments[margin]:
        margin -= 1
    after = bisect_right(starts, last_changed)  # the first statement after the changed rows
    while after < len(starts) and comments[after]:
        after += 1
    after += 1  # ...and that one: its doc may be in the comments just changed
    return Rows(
        first=starts[margin] if margin >= 0 else 0,
        keep=starts[margin + 1] if margin >= 0 else 0,
        end=starts[after] if after < len(starts) else len(old),
        moved=len(hashes) - len(old),
    )
