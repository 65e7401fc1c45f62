"""The immutable input of one completion, read from a document (runs on the event loop).

The loop edits documents and their trees on every `didChange`; a request reads
what it needs here, once, and the engine thread works on the snapshot alone.
Every fact is computed once and carried: the document's UTF-8 bytes, the
cursor as a str offset and as a byte offset, and the syntax facts at the cursor.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import tree_sitter

from codellama_ls.completion.crossfile import Chunk, OtherDocument
from codellama_ls.documents import syntax
from codellama_ls.documents.document import Document
from codellama_ls.documents.languages import LanguageSpec


@dataclass(frozen=True)
class Sticky:
    """What a document's previous prompt was built from, kept by the next one while it still fits,
    so the prompt's beginning (and the KV cache behind it) stays put across keystrokes and moves."""

    start: int
    """Where the window started (see `cut_window`)."""
    head: int | None = None
    """LINE prompts: where the text after <MID> began (a line start)."""
    cross: tuple[Chunk, ...] = ()
    """The cross-file chunks chosen."""
    after: tuple[str, int] = ("", -1)
    """The text after the cursor (its beginning and length): unchanged while the user types."""
    wanted: tuple[tuple[str, int], ...] = ()
    """The workspace definitions retrieved for it (file, line): the chunks are chosen again only
    when this set changes."""


def text_after(text: str, offset: int) -> tuple[str, int]:
    return text[offset : offset + 128], len(text) - offset


@dataclass(frozen=True)
class Snapshot:
    text: str
    offset: int
    """The cursor, as a str index into `text`."""
    uri: str = ""
    language_id: str = ""
    invoked: bool = True
    """An explicit request always completes; automatic ones respect the trigger rules."""
    language: LanguageSpec | None = None
    others: tuple[OtherDocument, ...] = ()
    """Other open documents of the same language, most recently edited first."""
    repository: tuple[Chunk, ...] = ()
    """Definitions from the workspace index that the cursor needs, best first (`workspace/retrieval.py`)."""
    sticky_start: int | None = None
    """Where this document's previous prompt window started (see `cut_window`)."""
    sticky: Sticky | None = None
    """This document's previous prompt, when known; its `start` wins over `sticky_start`."""
    refresh_context: bool = True
    """Whether the cross-file block may be chosen again while the window keeps its start: it is
    the prompt's beginning, so a new one costs a whole fresh prompt (`context_refresh_affordable`)."""
    # What the syntax tree says; the defaults when the document has no grammar.
    in_comment_or_string: bool = False
    scopes: tuple[tuple[int, int], ...] = ()
    """Enclosing functions/classes as str offsets, innermost first."""
    header: tuple[int, int] | None = None
    """The file's imports/package/includes as str offsets."""
    tree: tree_sitter.Tree | None = None
    """A private copy of the document's tree (the loop edits the original)."""
    source: bytes | None = None
    """The UTF-8 bytes `tree` was parsed from."""
    cursor_byte: int = 0
    """The cursor as a byte offset into `source`."""
    scope_bytes: tuple[tuple[int, int], ...] = ()
    """`scopes` as byte offsets into `source`: the syntax check re-parses the lines of one of them."""


def snapshot_of(
    doc: Document,
    offset: int,
    *,
    invoked: bool = True,
    others: Sequence[OtherDocument] = (),
    sticky_start: int | None = None,
    sticky: Sticky | None = None,
) -> Snapshot:
    """Read what the completion needs from the document and its tree (event loop only)."""
    snapshot = Snapshot(
        doc.text,
        offset,
        uri=doc.uri,
        language_id=doc.language_id,
        invoked=invoked,
        language=doc.language,
        others=tuple(others),
        sticky_start=sticky.start if sticky is not None else sticky_start,
        sticky=sticky,
    )
    spec, tree = doc.language, doc.tree
    if spec is None or tree is None:
        return snapshot
    source = doc.source_bytes
    cursor = doc.byte_offset(offset)
    spans = syntax.enclosing_scopes(tree, spec, cursor, source=source)
    header = syntax.header_span(tree, spec, source=source)
    return dataclasses.replace(
        snapshot,
        in_comment_or_string=syntax.in_comment_or_string(tree, spec, cursor, source=source),
        scopes=tuple((doc.offset_of_byte(span.start), doc.offset_of_byte(span.end)) for span in spans),
        header=(doc.offset_of_byte(header.start), doc.offset_of_byte(header.end)) if header else None,
        # Copying a tree is cheap (shared, copy-on-write); the syntax check re-parses from it incrementally.
        tree=tree.copy(),
        source=source,
        cursor_byte=cursor,
        scope_bytes=tuple((span.start, span.end) for span in spans),
    )
