"""The editable region: the whole lines around the cursor a next-edit prediction may rewrite (pure).

About `lines` lines centred on the cursor's line, each end moved to the nearest clean line boundary
the syntax tree shows: a boundary is clean when the line below it begins a node that ends at a line
end (a statement, a definition, a block's closer) and the line above it ends a node that began at
its line's first character; blank lines are always clean. So a region starts and ends between
statements, not inside a call's arguments. Without a tree the region is the plain window of lines.
Only the lines near the cursor are looked at: the cost does not grow with the file.
"""

from __future__ import annotations

from dataclasses import dataclass

import tree_sitter


@dataclass(frozen=True)
class Region:
    """Lines `start_line .. end_line` (end exclusive) of a text, as str offsets `start .. end`;
    `end` is after the last line's newline (or at the text's end)."""

    start: int
    end: int
    start_line: int
    end_line: int

    def of(self, text: str) -> str:
        return text[self.start : self.end]


def _line_starts(text: str, cursor: int, lines: int) -> tuple[int, list[int]]:
    """The str offsets of the line starts from `lines` lines above the cursor's line to `lines + 1`
    below it (the text's end closes the last), and the row of the first one."""
    starts = [text.rfind("\n", 0, cursor) + 1]
    while len(starts) <= lines and starts[0] > 0:
        starts.insert(0, text.rfind("\n", 0, starts[0] - 1) + 1)
    first_row = text.count("\n", 0, starts[0])
    above = len(starts)
    while len(starts) < above + lines + 1:
        nxt = text.find("\n", starts[-1])
        if nxt < 0:
            break
        starts.append(nxt + 1)
    if starts[-1] < len(text) or len(starts) == above:
        starts.append(len(text) + 1)  # a virtual start after the last line, so every line has an end
    return first_row, starts


def editable_region(
    text: str,
    cursor: int,
    lines: int = 15,
    tree: tree_sitter.Tree | None = None,
    source: bytes | None = None,
) -> Region:
    """The region for a cursor at str offset `cursor`; `tree` (and its UTF-8 `source`, the text
    encoded, when the caller has it) moves the ends to clean boundaries."""
    lines = max(1, lines)
    cursor = max(0, min(cursor, len(text)))
    first_row, starts = _line_starts(text, cursor, lines)
    here = starts.index(text.rfind("\n", 0, cursor) + 1)
    count = len(starts) - 1  # lines known here: starts[i] .. starts[i + 1]
    above = (lines - 1) // 2
    lo = max(0, here - above)
    hi = min(count, lo + lines)
    lo = max(0, hi - lines)
    if tree is not None:
        lo, hi = _snap(text, tree, source, starts, here, lo, hi, lines)
    end = min(starts[hi], len(text))
    return Region(starts[lo], end, first_row + lo, first_row + hi)


def _snap(
    text: str,
    tree: tree_sitter.Tree,
    source: bytes | None,
    starts: list[int],
    here: int,
    lo: int,
    hi: int,
    lines: int,
) -> tuple[int, int]:
    root = tree.root_node
    raw = source if source is not None else text.encode("utf-8")
    base = len(text[: starts[0]].encode("utf-8"))
    # Byte offsets of the known line starts (the encodings of the lines between them).
    byte_starts = [base]
    for i in range(len(starts) - 1):
        segment = text[starts[i] : min(starts[i + 1], len(text))]
        byte_starts.append(byte_starts[-1] + len(segment.encode("utf-8")))
    count = len(starts) - 1

    def line(i: int) -> bytes:
        return raw[byte_starts[i] : byte_starts[i + 1]].rstrip(b"\r\n")

    def top(boundary: int) -> bool:
        """A region may start here: a whole statement begins, after a line that does not go on."""
        if boundary in (0, count):
            return True
        above = line(boundary - 1).rstrip()
        return _begins_node(root, raw, line(boundary), byte_starts[boundary]) and not above.endswith(_GOES_ON)

    def bottom(boundary: int) -> bool:
        """A region may end here: the line above ends a statement (or a block's closer)."""
        if boundary in (0, count):
            return True
        return _ends_node(root, raw, line(boundary - 1), byte_starts[boundary - 1])

    slack = max(2, lines // 2)
    tops = [b for b in range(max(0, lo - slack), here + 1) if top(b)]
    bottoms = [b for b in range(here + 1, min(count, hi + slack) + 1) if bottom(b)]
    best: tuple[float, int, int] | None = None
    for first in tops:
        for end in bottoms:
            size = end - first
            if size > lines + slack:
                continue
            # Short of the lines asked for costs most; a few more, or off centre, a little.
            cost = (lines - size if size < lines else (size - lines) / 4) + abs((here - first) - (end - 1 - here)) / 4
            if best is None or cost < best[0]:
                best = (cost, first, end)
    return (best[1], best[2]) if best is not None else (lo, hi)


_TRAILERS = b" \t\r;,)}]"
_COMMENTS = (b"#", b"//", b"/*", b"--", b";")
_KEYWORD_STARTS = ("comment",)
_GOES_ON = (b",", b"(", b"[", b"+", b"-", b"*", b"/", b"=", b"&", b"|", b"\\", b".", b"<", b">")


def _begins_node(root: tree_sitter.Node, raw: bytes, text: bytes, start: int) -> bool:
    """The line's first character begins a node that ends at the end of a line."""
    stripped = text.lstrip()
    if not stripped:
        return True
    byte = start + len(text) - len(stripped)
    node = root.descendant_for_byte_range(byte, byte)
    if node is None:
        return False
    while node.parent is not None and node.parent.start_byte == byte and node.parent.parent is not None:
        node = node.parent
    if node.start_byte != byte or not (node.is_named or node.type in _KEYWORD_STARTS):
        return False
    line_end = raw.find(b"\n", node.end_byte)
    rest = raw[node.end_byte : len(raw) if line_end < 0 else line_end]
    return not rest.strip(_TRAILERS) or rest.lstrip().startswith(_COMMENTS)


def _ends_node(root: tree_sitter.Node, raw: bytes, text: bytes, start: int) -> bool:
    """The line's last character ends a node that began at its line's first character."""
    stripped = text.rstrip()
    if not stripped:
        return True
    end = start + len(stripped)
    node = root.descendant_for_byte_range(end - 1, end)
    if node is None:
        return False
    while node.parent is not None and node.parent.end_byte == end and node.parent.parent is not None:
        node = node.parent
    if node.end_byte != end:
        return False
    if not node.is_named and node.type not in ("}", ")", "]", "end") and node.type != "comment":
        return False  # a line ending in `(`, `,`, `:` or an operator goes on below
    line_start = raw.rfind(b"\n", 0, node.start_byte) + 1
    return not raw[line_start : node.start_byte].strip()
