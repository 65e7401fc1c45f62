"""Open documents: authoritative text, position index and syntax tree (pure).

Edits are applied incrementally to everything: the str, the line index, a
UTF-8 copy for tree-sitter, and the tree itself (``Tree.edit`` then a re-parse
that reuses the old tree). The re-parse is deferred until someone reads
:attr:`Document.tree`, so a burst of keystrokes costs one parse.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import tree_sitter
from lsprotocol.types import (
    Range,
    TextDocumentContentChangeEvent,
    TextDocumentContentChangePartial,
)

from .languages import LanguageSpec, language_for, new_parser
from .positions import LineIndex, PositionEncoding, common_affixes, encode_utf8, utf8_len

DEFAULT_MAX_BYTES = 2_000_000


class Document:
    """One open text document."""

    def __init__(
        self,
        uri: str,
        language_id: str,
        version: int,
        text: str,
        *,
        encoding: PositionEncoding = PositionEncoding.UTF16,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.uri = uri
        self.language_id = language_id
        self.version = version
        self.encoding = encoding
        self._max_bytes = max_bytes
        self.language: LanguageSpec | None = language_for(language_id, uri)
        self._parser: tree_sitter.Parser | None = new_parser(self.language) if self.language is not None else None
        self._tree: tree_sitter.Tree | None = None
        self._source: bytes | None = None  # UTF-8 of the text, kept only while parsing
        self._stale = False  # the tree has been edited but not re-parsed yet
        self._load(text)

    # -- state -------------------------------------------------------------

    def _load(self, text: str) -> None:
        self._index = LineIndex(text)
        self._binary = "\x00" in text
        self._drop_tree()
        if self._parser is None or self._binary:
            self._nbytes = utf8_len(text)
            return
        raw = encode_utf8(text)
        self._nbytes = len(raw)
        if self._nbytes <= self._max_bytes:
            self._index.track_bytes(raw)
            self._source = raw  # parsed when the tree is first asked for

    def _drop_tree(self) -> None:
        self._tree = None
        self._source = None
        self._stale = False

    @property
    def text(self) -> str:
        return self._index.text

    @property
    def line_count(self) -> int:
        return self._index.line_count

    def line_text(self, line: int) -> str:
        return self._index.line_text(line)

    @property
    def byte_length(self) -> int:
        return self._nbytes

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @max_bytes.setter
    def max_bytes(self, value: int) -> None:
        was_skipped = self.skip_reason is not None
        self._max_bytes = value
        if self._parser is None or was_skipped == (self.skip_reason is not None):
            return
        if self.skip_reason is None:
            self._load(self.text)
        else:
            self._drop_tree()

    @property
    def binary(self) -> bool:
        return self._binary

    @property
    def too_large(self) -> bool:
        return self._nbytes > self.max_bytes

    @property
    def skip_reason(self) -> str | None:
        """Why completions are skipped for this document, or None."""
        if self._binary:
            return "binary file (contains NUL bytes)"
        if self.too_large:
            return f"file too large: {self._nbytes} bytes > {self.max_bytes} byte limit"
        return None

    @property
    def tree(self) -> tree_sitter.Tree | None:
        """The syntax tree of the current text; None without a usable grammar
        or when the document is skipped. Parsed here, on demand."""
        if self._source is None:
            return None
        assert self._parser is not None
        if self._tree is None:
            self._tree = self._parser.parse(self._source)
        elif self._stale:
            self._tree = self._parser.parse(self._source, old_tree=self._tree)
        self._stale = False
        return self._tree

    @property
    def source_bytes(self) -> bytes:
        """UTF-8 of the text (what the tree's byte offsets refer to)."""
        return self._source if self._source is not None else encode_utf8(self.text)

    # -- positions ---------------------------------------------------------

    def offset_at(self, line: int, character: int, *, clamp: bool = False) -> int:
        return self._index.offset(line, character, self.encoding, clamp=clamp)

    def position_at(self, offset: int) -> tuple[int, int]:
        return self._index.position(offset, self.encoding)

    def byte_offset(self, offset: int) -> int:
        """UTF-8 byte offset of a str index, for tree-sitter."""
        return self._index.byte_offset(offset)

    def offset_of_byte(self, byte: int) -> int:
        """str index of a tree-sitter byte offset."""
        return self._index.offset_of_byte(byte)

    # -- edits -------------------------------------------------------------

    def apply_change(self, change: TextDocumentContentChangeEvent, version: int) -> None:
        self.apply_changes((change,), version)

    def apply_changes(self, changes: Iterable[TextDocumentContentChangeEvent], version: int) -> None:
        """Apply didChange events in order (each relative to the text the
        previous one left)."""
        for change in changes:
            if isinstance(change, TextDocumentContentChangePartial):
                self._apply_range(change.range, change.text)
            else:
                self._apply_whole(change.text)
        self.version = version

    def _apply_range(self, rng: Range, text: str) -> None:
        index, enc = self._index, self.encoding
        start = index.offset(rng.start.line, rng.start.character, enc, clamp=True)
        end = index.offset(rng.end.line, rng.end.character, enc, clamp=True)
        if end < start:  # tolerate a reversed range rather than corrupt the text
            start, end = end, start
        self._splice(start, end, text)

    def _apply_whole(self, text: str) -> None:
        # Clients with full sync send the whole text per keystroke; diffing it
        # against ours turns that back into a small incremental edit.
        old = self.text
        prefix, suffix = common_affixes(old, text)
        if prefix == len(old) == len(text):
            return
        self._splice(prefix, len(old) - suffix, text[prefix : len(text) - suffix])

    def _splice(self, start: int, end: int, text: str) -> None:
        index = self._index
        parsing = self._source is not None
        tree = self._tree
        if parsing:
            start_byte, end_byte = index.byte_offset(start), index.byte_offset(end)
            removed = end_byte - start_byte
            if tree is not None:
                start_point, end_point = index.point(start), index.point(end)
        else:
            removed = utf8_len(index.text[start:end])
        raw = encode_utf8(text)
        index.replace(start, end, text)
        self._nbytes += len(raw) - removed
        self._binary = "\x00" in index.text if self._binary else "\x00" in text

        if self._parser is None:
            return
        if self.skip_reason is not None:
            self._drop_tree()
            return
        if not parsing:  # was skipped, is parseable now
            self._load(index.text)
            return
        assert self._source is not None
        # memoryview slices copy nothing: one allocation instead of three.
        src = memoryview(self._source)
        self._source = b"".join((src[:start_byte], raw, src[end_byte:]))
        if tree is None:
            return
        if not self._stale:
            # Someone may still hold the tree from the last parse; edit a copy
            # so theirs keeps matching the text they saw.
            tree = self._tree = tree.copy()
        tree.edit(
            start_byte,
            end_byte,
            start_byte + len(raw),
            start_point,
            end_point,
            index.point(start + len(text)),
        )
        self._stale = True


class UnknownDocument(KeyError):
    """A request named a document that is not open."""

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self.uri = uri

    def __str__(self) -> str:
        return f"document is not open: {self.uri}"


class DocumentStore:
    """The open documents, by URI."""

    def __init__(
        self,
        *,
        encoding: PositionEncoding = PositionEncoding.UTF16,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self._docs: dict[str, Document] = {}
        self._encoding = PositionEncoding(encoding)
        self._max_bytes = max_bytes

    @property
    def encoding(self) -> PositionEncoding:
        return self._encoding

    @encoding.setter
    def encoding(self, value: PositionEncoding | str) -> None:
        """Set once initialize has negotiated positionEncoding; applies to
        open documents too."""
        self._encoding = PositionEncoding(getattr(value, "value", value))
        for doc in self._docs.values():
            doc.encoding = self._encoding

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @max_bytes.setter
    def max_bytes(self, value: int) -> None:
        """Applies to open documents too: they start or stop being parsed."""
        self._max_bytes = value
        for doc in self._docs.values():
            doc.max_bytes = value

    def open(self, uri: str, language_id: str, version: int, text: str) -> Document:
        """Open (or re-open, replacing) a document."""
        doc = Document(uri, language_id, version, text, encoding=self._encoding, max_bytes=self.max_bytes)
        self._docs[uri] = doc
        return doc

    def change(self, uri: str, version: int, changes: Iterable[TextDocumentContentChangeEvent]) -> Document:
        doc = self.get(uri)
        doc.apply_changes(changes, version)
        return doc

    def close(self, uri: str) -> None:
        """Forget a document; closing one that is not open is not an error."""
        self._docs.pop(uri, None)

    def get(self, uri: str) -> Document:
        try:
            return self._docs[uri]
        except KeyError:
            raise UnknownDocument(uri) from None

    def __contains__(self, uri: object) -> bool:
        return uri in self._docs

    def __len__(self) -> int:
        return len(self._docs)

    def __iter__(self) -> Iterator[Document]:
        return iter(list(self._docs.values()))
