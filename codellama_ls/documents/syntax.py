"""What the syntax tree says about the cursor (pure: no I/O besides loading query files).

Each language has one query file, ``grammars/<name>/context.scm``, whose
captures (``@scope``, ``@comment``, ``@string``, ``@interpolation``,
``@import`` and two header helpers) are documented in ``grammars/README.md``.
The functions here run those queries over a small byte range around the
cursor, so they cost microseconds even in large files, and add the few rules a
query cannot say: where an undelimited body (Python) ends, what a
cursor at the very end of a node means, unterminated strings while typing.

All offsets are UTF-8 byte offsets into the parsed source, as tree-sitter uses.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import tree_sitter

from .languages import LanguageSpec, load_language

log = logging.getLogger(__name__)

__all__ = [
    "Span",
    "enclosing_scopes",
    "header_span",
    "in_comment_or_string",
    "queries_for",
]


@dataclass(frozen=True)
class Span:
    """A half-open byte range [start, end) of the UTF-8 source."""

    start: int
    end: int


# -- query files ---------------------------------------------------------------

_QUERY_FILE = "context.scm"
_INHERITS = re.compile(r"^;+\s*inherits\s*:\s*([\w,\s]+?)\s*$")
_QUERIES: dict[str, tree_sitter.Query | None] = {}


def _read_query_file(name: str, query_file: str = _QUERY_FILE) -> str | None:
    # Installed wheels ship the folder as the package codellama_ls.grammars; a
    # source checkout (editable install) has it at the top of the repository.
    try:
        return (files("codellama_ls.grammars") / name / query_file).read_text(encoding="utf-8")
    except (ImportError, OSError, TypeError):
        pass
    path = Path(__file__).resolve().parents[2] / "grammars" / name / query_file
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _query_source(name: str, seen: frozenset[str] = frozenset(), query_file: str = _QUERY_FILE) -> str | None:
    """The query text with the files it inherits from (``; inherits: a, b`` on a
    leading comment line, as nvim-treesitter writes it) put in front."""
    text = _read_query_file(name, query_file)
    if text is None:
        return None
    parents: list[str] = []
    for line in text.splitlines():
        if not line.startswith(";"):
            break
        match = _INHERITS.match(line)
        if match:
            parents += [p.strip() for p in match.group(1).split(",") if p.strip()]
    parts = []
    for parent in parents:
        if parent in seen or parent == name:
            continue  # a cycle in the inherits lines must not recurse forever
        inherited = _query_source(parent, seen | {name}, query_file)
        if inherited is not None:
            parts.append(inherited)
    parts.append(text)
    return "\n".join(parts)


def _split_patterns(source: str) -> list[str]:
    """Top-level patterns of a query, each with its trailing captures and comments."""
    starts: list[int] = []
    depth = 0
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == ";":
            newline = source.find("\n", i)
            i = n if newline < 0 else newline
            continue
        if ch == '"':
            i += 1
            while i < n and source[i] != '"':
                i += 2 if source[i] == "\\" else 1
        elif ch in "([":
            if depth == 0:
                starts.append(i)
            depth += 1
        elif ch in ")]":
            depth = max(depth - 1, 0)
        i += 1
    bounds = [*starts, n]
    return [source[a:b] for a, b in itertools.pairwise(bounds)]


def _compile(
    language: tree_sitter.Language, name: str, source: str, query_file: str = _QUERY_FILE
) -> tree_sitter.Query | None:
    try:
        return tree_sitter.Query(language, source)
    except tree_sitter.QueryError as exc:
        first_error = exc
    # An older or newer grammar wheel than the queries were written for lacks
    # some node type: keep every pattern that still compiles rather than lose
    # the whole language.
    good = []
    for pattern in _split_patterns(source):
        try:
            tree_sitter.Query(language, pattern)
        except tree_sitter.QueryError as exc:
            log.warning("grammars/%s/%s: dropping a pattern the grammar rejects: %s", name, query_file, exc)
        else:
            good.append(pattern)
    if not good:
        log.warning("grammars/%s/%s is unusable: %s", name, query_file, first_error)
        return None
    try:
        return tree_sitter.Query(language, "\n".join(good))
    except tree_sitter.QueryError as exc:
        log.warning("grammars/%s/%s is unusable: %s", name, query_file, exc)
        return None


def load_query(spec: LanguageSpec, query_file: str) -> tree_sitter.Query | None:
    """Another query file of a language (`definitions.scm`), compiled; None without a grammar or file.
    Not cached: its user keeps it."""
    language = load_language(spec)
    source = _query_source(spec.name, query_file=query_file) if language is not None else None
    return _compile(language, spec.name, source, query_file) if language is not None and source else None


def queries_for(spec: LanguageSpec) -> tree_sitter.Query | None:
    """The compiled context query of a language, built once; None without a
    usable grammar or query file."""
    try:
        return _QUERIES[spec.name]
    except KeyError:
        pass
    query: tree_sitter.Query | None = None
    language = load_language(spec)
    if language is not None:
        source = _query_source(spec.name)
        if source is None:
            log.debug("no %s for %s", _QUERY_FILE, spec.name)
        else:
            query = _compile(language, spec.name, source)
    # Two threads may both compile on first use; the results are equal, so the
    # last write winning is harmless.
    _QUERIES[spec.name] = query
    return query


def _captures(
    query: tree_sitter.Query, node: tree_sitter.Node, start: int, end: int
) -> dict[str, list[tree_sitter.Node]]:
    cursor = tree_sitter.QueryCursor(query)
    # Matches must intersect the range: the cursor only descends into nodes
    # around it, which is what keeps these calls fast in big files.
    cursor.set_byte_range(max(start, 0), max(end, start, 0))
    return cursor.captures(node)


# -- source text ---------------------------------------------------------------

_last_source: tuple[tree_sitter.Tree, bytes] | None = None


def _source_of(tree: tree_sitter.Tree, source: bytes | None) -> bytes | None:
    """The bytes the tree was parsed from (None if the tree does not keep them)."""
    global _last_source
    if source is not None:
        return source
    cached = _last_source
    if cached is not None and cached[0] is tree:
        return cached[1]
    root = tree.root_node
    text = root.text
    if text is None:
        return None
    if root.start_byte:
        # The root starts at the first token; what comes before is whitespace
        # the tree does not keep. Rebuild it with the same length and rows.
        row, column = root.start_point
        filler = max(root.start_byte - row - column, 0)
        text = b" " * filler + b"\n" * row + b" " * column + text
    # Keep the tree itself, not its id: ids of freed trees get reused.
    _last_source = (tree, text)
    return text


def _clamp(tree: tree_sitter.Tree, byte: int) -> int:
    # A cursor past the end (a stale offset) is at the end, not an error.
    return min(max(byte, 0), tree.root_node.end_byte)


def _line_start(source: bytes, byte: int, floor: int = 0) -> int:
    """Start of the line of ``byte``, or ``floor`` when the line starts before it."""
    return max(source.rfind(b"\n", floor, byte), source.rfind(b"\r", floor, byte), floor - 1) + 1


def _line_end(source: bytes, byte: int) -> int:
    ends = [i for i in (source.find(b"\n", byte), source.find(b"\r", byte)) if i >= 0]
    return min(ends) if ends else len(source)


def _indent_width(source: bytes, byte: int) -> int:
    """Bytes of leading blanks on the line of ``byte``."""
    start = _line_start(source, byte)
    end = start
    while end < len(source) and source[end] in b" \t\f":
        end += 1
    return end - start


# -- tree walking helpers ------------------------------------------------------


# Node.children builds every child; these walks only need the ends.
def _last_child(node: tree_sitter.Node) -> tree_sitter.Node | None:
    count = node.child_count
    return node.child(count - 1) if count else None


def _last_leaf(node: tree_sitter.Node) -> tree_sitter.Node:
    while (last := _last_child(node)) is not None:
        node = last
    return node


def _prev_leaf(node: tree_sitter.Node) -> tree_sitter.Node | None:
    current: tree_sitter.Node | None = node
    while current is not None:
        prev = current.prev_sibling
        if prev is not None:
            return _last_leaf(prev)
        current = current.parent
    return None


def _leaf_before(root: tree_sitter.Node, byte: int) -> tree_sitter.Node | None:
    """The last leaf that starts before ``byte``."""
    if byte <= 0:
        return None
    # A TreeCursor, not Node.first_child_for_byte: in py-tree-sitter 0.26 the
    # latter crashes the interpreter when no child qualifies.
    cursor = root.walk()
    while True:
        # The first child ending at or after the byte ...
        if cursor.goto_first_child_for_byte(byte - 1) is None:
            # ... or, when all end before it, the last one; none: a leaf.
            if not cursor.goto_last_child():
                break
            continue
        node = cursor.node
        if node is not None and node.start_byte >= byte:
            if not cursor.goto_previous_sibling():
                cursor.goto_parent()
                parent = cursor.node
                return _prev_leaf(parent) if parent is not None else None
    leaf = cursor.node
    if leaf is None:
        return None
    return leaf if leaf.start_byte < byte else _prev_leaf(leaf)


def _next_token_start(node: tree_sitter.Node) -> int | None:
    """Start of the first non-extra node after ``node`` (comments are extras)."""
    current: tree_sitter.Node | None = node
    while current is not None:
        sibling = current.next_sibling
        while sibling is not None and sibling.is_extra:
            sibling = sibling.next_sibling
        if sibling is not None:
            return sibling.start_byte
        current = current.parent
    return None


# Comment leaves walked back over when looking for a block that ended above the cursor.
_MAX_LOOKBACK_LEAVES = 200


def _in_extra(leaf: tree_sitter.Node) -> bool:
    # Comments are extras; some grammars give them children (Rust doc comments),
    # two levels at most. Node.parent costs a walk from the root, so look no higher.
    node: tree_sitter.Node | None = leaf
    for _ in range(3):
        if node is None:
            return False
        if node.is_extra:
            return True
        node = node.parent
    return False


def _lookback(root: tree_sitter.Node, byte: int) -> int:
    """Where the query range must start so that it reaches a block that ended
    before the cursor (a Python body above blank lines, a block whose closer is
    MISSING): such a block still holds the cursor only when nothing but blanks
    and comments lie between, so it ends at or after the last code token before
    the cursor. Found through the tree, so the range, and the captures Python
    has to look at, stay a few nodes however long the line or the file."""
    leaf = _leaf_before(root, byte)
    for _ in range(_MAX_LOOKBACK_LEAVES):
        if leaf is None:
            return 0
        if not _in_extra(leaf):
            # A node ending where this token ends must intersect the range.
            return max(min(leaf.end_byte - 1, byte - 1), 0)
        leaf = _prev_leaf(leaf)
    return leaf.start_byte if leaf is not None else 0


# -- containment rules ---------------------------------------------------------

# Languages whose blocks end by indentation. Their block and scope nodes stop at
# the last statement, so a blank line below still belongs to them when it is
# indented deeper than the line that opened them.
_OFFSIDE = frozenset({"python"})


@dataclass(frozen=True)
class _Ctx:
    spec: LanguageSpec
    source: bytes | None
    offside: bool
    comment: bytes | None
    """The line comment opener, as bytes."""
    gap: re.Pattern[bytes]
    """Whole lines that are blank or hold only a line comment."""


_GAPS: dict[str, re.Pattern[bytes]] = {}


def _ctx(spec: LanguageSpec, source: bytes | None) -> _Ctx:
    comment = spec.line_comment.encode() if spec.line_comment else None
    gap = _GAPS.get(spec.name)
    if gap is None:
        rest = rb"(?:" + re.escape(comment) + rb"[^\r\n]*)?" if comment else b""
        gap = _GAPS[spec.name] = re.compile(rb"(?:[ \t\f]*" + rest + rb"(?:\r\n|\r|\n))*")
    return _Ctx(spec, source, spec.name in _OFFSIDE, comment, gap)


def _offside_tail(ctx: _Ctx, end: int, byte: int, owner_start: int) -> bool:
    """Python: is ``byte`` (past a node's ``end``) still in that node's body?

    Yes when only blank or comment lines lie between, the cursor line is blank
    or a comment, and that line is indented deeper than the owner's first line
    (the ``def``/``class``/``if`` that opened the body). On a blank line the
    cursor column is the indentation: that is where the user is typing."""
    source = ctx.source
    if source is None:
        return False
    line_start = _line_start(source, byte)
    if line_start <= end:
        # On the node's own last line: only blanks or a comment may follow it.
        after = source[end:byte].lstrip(b" \t\f")
        return not after or bool(ctx.comment and after.startswith(ctx.comment))
    line = source[line_start : _line_end(source, byte)]
    body = line.lstrip(b" \t\f")
    if body and not (ctx.comment and body.startswith(ctx.comment)):
        return False  # that line has code, which the tree has already placed
    if not ctx.gap.fullmatch(source, end, line_start):
        return False
    indent = len(line) - len(body) if body else byte - line_start
    return indent > _indent_width(source, owner_start)


def _open_tail(ctx: _Ctx, node: tree_sitter.Node, byte: int) -> bool:
    """``byte`` is at or past the end of a node that has no closing token: is it
    still in the node's trailing whitespace?"""
    if byte == node.end_byte:
        return True
    if ctx.offside:
        return _offside_tail(ctx, node.end_byte, byte, node.start_byte)
    # Delimited languages: up to the next token (an `end`, `else`, `}` ...).
    following = _next_token_start(node)
    return following is None or byte <= following


def _scope_contains(ctx: _Ctx, node: tree_sitter.Node, byte: int) -> bool:
    if byte <= node.start_byte:
        return False
    if byte < node.end_byte:
        return True
    # Scopes in delimited languages end with their closer (`}`, `end`): past it
    # is outside, unless the parser only made it up (a MISSING node).
    if ctx.offside or _last_leaf(node).is_missing:
        return _open_tail(ctx, node, byte)
    return False


def _containing(tree: tree_sitter.Tree, spec: LanguageSpec, byte: int, source: bytes | None) -> list[tree_sitter.Node]:
    """@scope nodes holding the cursor, innermost first."""
    query = queries_for(spec)
    if query is None:
        return []
    byte = _clamp(tree, byte)
    ctx = _ctx(spec, source)
    low = _lookback(tree.root_node, byte)
    nodes = _captures(query, tree.root_node, low, byte + 1).get("scope", [])
    found: dict[int, tree_sitter.Node] = {}
    for node in nodes:
        if node.id not in found and _scope_contains(ctx, node, byte):
            found[node.id] = node
    # Descendants start at or after their ancestors; on a tie the shorter one is inside.
    return sorted(found.values(), key=lambda n: (-n.start_byte, n.end_byte))


def _end_of_text(source: bytes | None, start: int, end: int) -> int:
    """``end`` without line breaks the node swallowed: some grammars end a
    node after the newline that ends its line (C ``#include``, bash ``elif``,
    Go case bodies), others before it; spans end before it in every language."""
    if source is not None:
        while end > start and source[end - 1] in b"\r\n":
            end -= 1
    return end


def _widened(node: tree_sitter.Node, byte: int, source: bytes | None) -> Span:
    # The rules above may place the cursor in whitespace just past a node (a blank
    # line closing a Python body): the span reaches it, so it always holds the cursor.
    end = _end_of_text(source, node.start_byte, node.end_byte)
    return Span(min(node.start_byte, byte), max(end, byte))


def enclosing_scopes(
    tree: tree_sitter.Tree, spec: LanguageSpec, byte: int, *, source: bytes | None = None
) -> list[Span]:
    """Functions, classes, closures ... around the cursor, innermost first.

    A cursor counts as inside when it is past the node's first byte and before
    its closing token (right after a ``}`` or ``end`` is outside, unless that
    closer is MISSING). In Python a blank or comment line below a body counts
    when indented deeper than the ``def``/``class`` (on a blank line, the cursor
    column is its indentation). Spans end before a line break the grammar
    included and are widened to reach the cursor, so each holds it.
    ``source`` is what the tree was parsed from; it is recovered from the tree
    when omitted (pass it to save a copy on the first call for a tree)."""
    text = _source_of(tree, source)
    byte = _clamp(tree, byte)
    return [_widened(node, byte, text) for node in _containing(tree, spec, byte, text)]


# -- comments and strings --------------------------------------------------------

_LITERALS = ("comment", "string", "interpolation")
_QUOTES = frozenset({'"', "'", "`", '"""', "'''"})
_LUA_LONG_COMMENT = re.compile(rb"--\[=*\[")
# Leaves, and bytes before the cursor, looked at on the cursor line when checking for an
# unterminated literal: a minified line is megabytes long.
_MAX_LINE_LEAVES = 512
_MAX_LINE_BYTES = 4096


def _is_line_comment(node: tree_sitter.Node, spec: LanguageSpec, source: bytes | None) -> bool:
    text = source[node.start_byte : node.end_byte] if source is not None else node.text or b""
    # Not spec.line_comment: PHP also has `#`, C# `///`, Rust `//!`. Whatever does
    # not open like a block comment runs to the end of its line.
    if spec.block_comment and text.startswith(spec.block_comment[0].encode()):
        return False
    if text.startswith(b"/*") or _LUA_LONG_COMMENT.match(text):
        return False
    # The grammar may or may not keep the newline in a line comment; past it is the next line.
    return not text.endswith((b"\n", b"\r"))


def _literal_contains(node: tree_sitter.Node, kind: str, byte: int, spec: LanguageSpec, source: bytes | None) -> bool:
    if node.start_byte < byte < node.end_byte:
        return True
    if byte != node.end_byte or byte == node.start_byte or kind == "interpolation":
        return False
    if kind == "comment":
        return _is_line_comment(node, spec, source)  # a line comment runs to the end of its line
    return _last_leaf(node).is_missing  # a string whose closing quote the parser made up


def _is_quote(leaf: tree_sitter.Node, source: bytes) -> bool:
    if leaf.type == "string_start":
        return True
    if not leaf.is_named and leaf.type in _QUOTES:
        return True
    return leaf.is_error and source[leaf.start_byte : leaf.start_byte + 1] in (b'"', b"'", b"`")


def _in_error(leaf: tree_sitter.Node) -> bool:
    parent = leaf.parent
    return leaf.is_error or (parent is not None and parent.is_error)


def _unterminated(root: tree_sitter.Node, byte: int, spec: LanguageSpec, source: bytes) -> bool:
    """While typing, a string or block comment opened on the cursor line and not
    yet closed parses as an ERROR holding the bare opening token. Walk that
    line's leaves up to the cursor and track quotes and comment openers that the
    parser could not place in a literal."""
    line_start = _line_start(source, byte, max(byte - _MAX_LINE_BYTES, 0))
    leaves: list[tree_sitter.Node] = []
    leaf = _leaf_before(root, byte)
    while leaf is not None and leaf.end_byte > line_start and len(leaves) < _MAX_LINE_LEAVES:
        if leaf.start_byte >= line_start:
            leaves.append(leaf)
        leaf = _prev_leaf(leaf)
    opener = spec.block_comment[0].encode() if spec.block_comment else None
    closer = spec.block_comment[1].encode() if spec.block_comment else None
    quote: bytes | None = None
    in_comment = False
    for leaf in reversed(leaves):
        if not _in_error(leaf):
            continue  # tokens of well-formed literals and code
        start = leaf.start_byte
        if in_comment:
            if closer and closer in source[start : min(leaf.end_byte, byte)]:
                in_comment = False
        elif quote is not None:
            if _is_quote(leaf, source) and source.startswith(quote, start):
                quote = None
        elif opener and source.startswith(opener, start):
            in_comment = closer is None or closer not in source[start + len(opener) : min(leaf.end_byte, byte)]
        elif _is_quote(leaf, source):
            text = source[start : leaf.end_byte]
            quote = text.lstrip(b"bBfFrRuU")[:1] or b'"'
    return quote is not None or in_comment


def in_comment_or_string(tree: tree_sitter.Tree, spec: LanguageSpec, byte: int, *, source: bytes | None = None) -> bool:
    """Whether the cursor is strictly inside a comment or a string literal.

    At the very end of a line comment counts as inside; right after a closing
    quote or ``*/`` does not; inside an interpolation (``f"{x}"``, ``${x}``) is
    code. A string or block comment left open on the cursor line while typing
    counts as inside too."""
    query = queries_for(spec)
    if query is None:
        return False
    text = _source_of(tree, source)
    root = tree.root_node
    byte = _clamp(tree, byte)
    captures = _captures(query, root, byte - 1, byte + 1)
    best: tuple[tree_sitter.Node, str] | None = None
    for kind in _LITERALS:
        for node in captures.get(kind, ()):
            if not _literal_contains(node, kind, byte, spec, text):
                continue
            if best is None or (node.start_byte, -node.end_byte) > (best[0].start_byte, -best[0].end_byte):
                best = (node, kind)
    if best is not None:
        return best[1] != "interpolation"
    if root.has_error and text is not None:
        return _unterminated(root, byte, spec, text)
    return False


# -- the file header -----------------------------------------------------------

_HEADER_KINDS = ("import", "import.container", "import.skip", "comment")


def _classified(query: tree_sitter.Query, node: tree_sitter.Node, first: int, last: int) -> dict[int, str]:
    """Header kind of each child of ``node`` from index ``first`` to ``last``, by node id."""
    cursor = tree_sitter.QueryCursor(query)
    # Patterns rooted at the node itself or its children only: nothing deeper
    # decides what a child is, and not descending keeps this cheap.
    cursor.set_max_start_depth(1)
    cursor.set_byte_range(node.named_child(first).start_byte, node.named_child(last).end_byte)
    captures = cursor.captures(node)
    kinds: dict[int, str] = {}
    for kind in reversed(_HEADER_KINDS):  # earlier kinds win
        for captured in captures.get(kind, ()):
            kinds[captured.id] = kind
    return kinds


# A header is looked for in the first bytes of a file only: one longer than this never fits a
# prompt beside the code, and a request must not walk a file of nothing but imports.
_MAX_HEADER_BYTES = 65_536


def _children(query: tree_sitter.Query, node: tree_sitter.Node) -> Iterator[tuple[tree_sitter.Node, str | None]]:
    """Named children with their header kind, classified a growing batch at a time; those
    starting past `_MAX_HEADER_BYTES` come as unclassified, which ends the header."""
    count = node.named_child_count
    index, batch = 0, 16
    while index < count:
        last = min(index + batch, count) - 1
        kinds = _classified(query, node, index, last)
        for i in range(index, last + 1):
            child = node.named_child(i)
            yield child, kinds.get(child.id) if child.start_byte < _MAX_HEADER_BYTES else None
        index, batch = last + 1, batch * 4


def _scan_header(query: tree_sitter.Query, node: tree_sitter.Node, nested: bool) -> tuple[int | None, int | None, bool]:
    """(first import start, last import end, whether every child was header material)."""
    start: int | None = None
    end: int | None = None
    header_row = node.start_point.row
    for child, kind in _children(query, node):
        if nested and child.end_point.row == header_row:
            continue  # the container's own header: `#ifndef NAME`, `namespace Foo`
        if kind == "import":
            start = child.start_byte if start is None else start
            end = child.end_byte
        elif kind == "import.container":
            _inner_start, inner_end, complete = _scan_header(query, child, True)
            if inner_end is not None:
                # Include the opening line (`#ifndef GUARD`) with the first import.
                start = child.start_byte if start is None else start
                end = child.end_byte if complete else inner_end
            if not complete:
                return start, end, False
        elif kind not in ("comment", "import.skip"):
            return start, end, False
    return start, end, True


def header_span(tree: tree_sitter.Tree, spec: LanguageSpec, *, source: bytes | None = None) -> Span | None:
    """From the first to the last import among the leading top-level nodes.

    Comments, blank lines and ``@import.skip`` nodes (a module docstring,
    ``<?php``) may come before or between the imports; the first other top-level
    node ends the header. ``@import.container`` nodes (include guards, block
    namespaces) are looked into. None when the file starts with code. ``source``
    as in `enclosing_scopes`."""
    query = queries_for(spec)
    root = tree.root_node
    if query is None or root.named_child_count == 0:
        return None
    start, end, _complete = _scan_header(query, root, False)
    if start is None or end is None:
        return None
    return Span(start, _end_of_text(_source_of(tree, source), start, end))
