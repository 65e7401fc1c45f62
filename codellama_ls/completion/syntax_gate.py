"""Does a suggestion add syntax errors?  (pure: parses bytes with tree-sitter)

The document is parsed once per check; each candidate is an incremental
re-parse of a copy of that tree, so cutting a block suggestion line by line
stays cheap even in large files.

A suggestion fails when it has an error of its own (one that starts inside the inserted text) or
when the region holds more errors after it than before. The region is the outermost enclosing
definition, as tree-sitter found it; in a document broken at the cursor (a half-typed `if `) that
definition can end early (at the if-block's `}`), so a suggestion failing there only on count is
checked again over the whole document (or `MAX_REGION` around the cursor), where the closer the
suffix has is seen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import tree_sitter

from codellama_ls.documents.languages import LanguageSpec, new_parser

_parsers: dict[str, tree_sitter.Parser | None] = {}


def _parser(spec: LanguageSpec) -> tree_sitter.Parser | None:
    # One parser per language; only the engine worker (or the CLI) calls this module.
    if spec.name not in _parsers:
        _parsers[spec.name] = new_parser(spec)
    return _parsers[spec.name]


def count_errors(node: tree_sitter.Node, start: int, end: int, spare: tuple[int, int] | None = None) -> int:
    """ERROR and MISSING nodes overlapping [start, end) bytes, not counting those touching the `spare`
    byte range; error-free subtrees are skipped."""
    if node.end_byte < start or node.start_byte > end or not (node.has_error or node.is_missing):
        return 0
    if node.is_error or node.is_missing:
        return 0 if spare is not None and node.start_byte <= spare[1] and node.end_byte >= spare[0] else 1
    return sum(count_errors(child, start, end, spare) for child in node.children)


def errors_starting_in(node: tree_sitter.Node, start: int, end: int) -> int:
    """ERROR and MISSING nodes that start in [start, end) bytes, those inside other ERROR nodes included."""
    if node.end_byte < start or node.start_byte >= end or not (node.has_error or node.is_missing):
        return 0
    own = 1 if (node.is_error or node.is_missing) and start <= node.start_byte < end else 0
    return own + sum(errors_starting_in(child, start, end) for child in node.children)


# Bytes the check parses at most (twice per candidate): the outermost enclosing scope within
# this, else this much around the cursor. A request must cost what the window around the cursor
# costs, not what the file (a megabyte of one-line minified code, say) or its outermost scope does.
MAX_REGION = 32_768
# How far a region's edges move out to reach a line boundary.
_SNAP = 4096
# What a region cut out of a document must start with to be parsed as code: PHP's grammar reads
# everything before `<?php` as HTML text, where no suggestion can have an error.
_PRELUDE = {"php": b"<?php "}


def _line_bounds(source: bytes, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` widened to whole lines, where the line ends are near."""
    floor = max(start - _SNAP, 0)
    line_start = source.rfind(b"\n", floor, start) + 1
    if line_start == 0 and floor:
        line_start = start
    line_end = source.find(b"\n", end, end + _SNAP)
    if line_end < 0:
        line_end = len(source) if len(source) - end <= _SNAP else end
    else:
        line_end += 1
    return line_start, line_end


def check_region(source: bytes, cursor: int, scopes: Sequence[tuple[int, int]] = ()) -> tuple[int, int] | None:
    """The bytes of the document the check parses on its own: the outermost of the enclosing
    ``scopes`` (innermost first) within `MAX_REGION`, else `MAX_REGION` around the cursor; None
    for the whole document when it is that small."""
    fitting = [(a, b) for a, b in scopes if a <= cursor <= b and b - a <= MAX_REGION]
    if fitting:
        return _line_bounds(source, *fitting[-1])
    if len(source) <= MAX_REGION:
        return None
    half = MAX_REGION // 2
    start, end = max(cursor - half, 0), min(cursor + half, len(source))
    # Whole lines inside the reach when there are line breaks in it (a parse from mid-line is
    # still fine: the errors it makes at the cut edges are in the baseline too).
    first = source.find(b"\n", start, cursor)
    last = source.rfind(b"\n", cursor, end)
    return (first + 1 if start and first >= 0 else start), (last + 1 if end < len(source) and last >= 0 else end)


def _point(data: bytes, byte: int) -> tuple[int, int]:
    row = data.count(b"\n", 0, byte)
    return row, byte - (data.rfind(b"\n", 0, byte) + 1)


@dataclass
class ErrorCheck:
    parser: tree_sitter.Parser
    source: bytes
    tree: tree_sitter.Tree
    cursor: int
    region_start: int
    region_end: int
    baseline: int
    after: str
    """The text right of the cursor on its line, to size `replace_after` in bytes."""
    broken: bool = False
    """The region has an error (the half-typed code at the cursor included)."""
    wider: Callable[[], ErrorCheck] | None = field(default=None, repr=False)
    """In a broken document, whose definitions' bounds may be wrong: the same check over the whole
    document (or `MAX_REGION` around the cursor), made on demand."""

    @classmethod
    def create(
        cls,
        spec: LanguageSpec,
        source: bytes,
        cursor: int,
        tree: tree_sitter.Tree | None = None,
        scopes: Sequence[tuple[int, int]] = (),
    ) -> ErrorCheck | None:
        """`source` is the document's UTF-8, `cursor` a byte offset into it, `tree` its current parse
        (saves a full parse). `scopes`, the definitions around the cursor as byte spans (innermost
        first), limit the check to the lines of the outermost one of a bounded size (`check_region`):
        two parses of a function cost far less than re-parsing a large file."""
        parser = _parser(spec)
        if parser is None:
            return None
        prelude = _PRELUDE.get(spec.name, b"")
        region = check_region(source, cursor, scopes)
        check = cls._over(parser, source, cursor, tree, region, prelude)
        wide = check_region(source, cursor)
        broken = check.broken or (tree is not None and tree.root_node.has_error)
        if broken and region is not None and wide != region:
            made: list[ErrorCheck] = []

            def wider() -> ErrorCheck:
                if not made:
                    made.append(cls._over(parser, source, cursor, tree, wide, prelude))
                return made[0]

            check.wider = wider
        return check

    @classmethod
    def _over(
        cls,
        parser: tree_sitter.Parser,
        source: bytes,
        cursor: int,
        tree: tree_sitter.Tree | None,
        region: tuple[int, int] | None,
        prelude: bytes = b"",
    ) -> ErrorCheck:
        if region is not None:
            start, end = region
            if not start:
                prelude = b""
            source, cursor = prelude + source[start:end], cursor - start + len(prelude)
            tree = None
        if tree is None:
            tree = parser.parse(source)
        line_start = source.rfind(b"\n", 0, cursor) + 1
        # The edited region runs to the end of the file: a missing closer lands there, past any scope.
        region_end = len(source)
        # An error at the cursor is the half-typed code the suggestion completes; it is no excuse
        # for an error of the suggestion's own, so it is left out of the baseline.
        head = source[line_start:cursor]
        typed_end = line_start + len(head.rstrip())  # the code right before the cursor, spaces skipped
        baseline = count_errors(tree.root_node, line_start, region_end, spare=(typed_end, cursor))
        broken = baseline > 0 or count_errors(tree.root_node, 0, region_end) > 0
        line_end = source.find(b"\n", cursor)
        after = source[cursor : len(source) if line_end < 0 else line_end].decode("utf-8", errors="replace")
        return cls(parser, source, tree, cursor, line_start, region_end, baseline, after, broken)

    def added_errors(self, inserted: str, replace_after: int = 0) -> int:
        """Positive when `inserted` has an error of its own or adds errors to the region; a
        suggestion failing only on count in a broken region gets the wider check's answer."""
        own, added = self._counts(inserted, replace_after)
        if own or added <= 0 or self.wider is None:
            return own or added
        wide_own, wide_added = self.wider()._counts(inserted, replace_after)
        return wide_own or wide_added

    def _counts(self, inserted: str, replace_after: int) -> tuple[int, int]:
        """Errors starting inside the inserted text; errors of the region less the baseline."""
        data = inserted.encode("utf-8")
        old_end = self.cursor + len(self.after[:replace_after].encode("utf-8"))
        new_source = self.source[: self.cursor] + data + self.source[old_end:]
        new_end = self.cursor + len(data)
        tree = self.tree.copy()
        tree.edit(
            start_byte=self.cursor,
            old_end_byte=old_end,
            new_end_byte=new_end,
            start_point=_point(self.source, self.cursor),
            old_end_point=_point(self.source, old_end),
            new_end_point=_point(new_source, new_end),
        )
        fresh = self.parser.parse(new_source, tree)
        shift = new_end - old_end
        own = errors_starting_in(fresh.root_node, self.cursor, new_end)
        return own, count_errors(fresh.root_node, self.region_start, self.region_end + shift) - self.baseline


def _byte_at(text: str, offset: int, anchor: tuple[int, int]) -> int:
    """The UTF-8 byte offset of str index `offset`, counted from `anchor` (a str index and its byte offset)."""
    at, byte = anchor
    if offset >= at:
        return byte + len(text[at:offset].encode("utf-8"))
    return byte - len(text[offset:at].encode("utf-8"))


def replacement_errors(
    spec: LanguageSpec,
    text: str,
    start: int,
    end: int,
    new: str,
    *,
    source: bytes | None = None,
    anchor: tuple[int, int] = (0, 0),
) -> int:
    """How many syntax errors replacing text[start:end] (str offsets) with `new` adds (an action's
    edit). Parses the lines around the range, `MAX_REGION` bytes of them at most besides the range
    itself, before and after; 0 without a grammar, never negative. `source` (the text's UTF-8) and
    `anchor` (a str index near the range and its byte offset) come from the document's snapshot, so
    nothing encodes the document again; without them the text is encoded here."""
    parser = _parser(spec)
    if parser is None:
        return 0
    if source is None:
        source, anchor = text.encode("utf-8"), (0, 0)
    first = _byte_at(text, start, anchor)
    last = first + len(text[start:end].encode("utf-8"))
    half = MAX_REGION // 2
    low, high = _line_bounds(source, max(first - half, 0), min(last + half, len(source)))
    low, high = min(low, first), max(high, last)
    before = parser.parse(source[low:high]).root_node
    after = parser.parse(source[low:first] + new.encode("utf-8") + source[last:high]).root_node
    return max(count_errors(after, 0, after.end_byte) - count_errors(before, 0, before.end_byte), 0)
