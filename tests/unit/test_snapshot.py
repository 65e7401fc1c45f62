"""The snapshot: facts read once on the loop and carried to the engine thread."""

from __future__ import annotations

import pytest
import tree_sitter

from codellama_ls.completion.snapshot import snapshot_of
from codellama_ls.documents import syntax
from codellama_ls.documents.document import Document

TEXT = "import os\n\nclass Box:\n    def size(self, é):\n        return \n"


def test_snapshot_carries_bytes_cursor_and_syntax_facts() -> None:
    doc = Document("file:///w/box.py", "python", 1, TEXT)
    offset = TEXT.index("return ") + 7
    snapshot = snapshot_of(doc, offset, invoked=False, sticky_start=0)
    assert snapshot.source == TEXT.encode()
    assert snapshot.cursor_byte == len(TEXT[:offset].encode())
    assert snapshot.sticky_start == 0 and not snapshot.invoked and snapshot.uri == doc.uri
    assert [TEXT[start:end].split("\n")[0] for start, end in snapshot.scopes] == [
        "def size(self, é):",
        "class Box:",
    ]
    start, end = snapshot.scope_bytes[-1]
    assert snapshot.source[start:end].startswith(b"class Box:")
    assert snapshot.header == (0, len("import os"))
    assert snapshot.tree is not None and snapshot.tree is not doc.tree  # a private copy


def test_syntax_calls_get_the_documents_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rebuilding the bytes from the tree costs a copy of the whole file per call."""
    original = syntax._source_of

    def source_of(tree: tree_sitter.Tree, source: bytes | None) -> bytes | None:
        assert source is not None, "a syntax call rebuilt the file's bytes from the tree"
        return original(tree, source)

    monkeypatch.setattr(syntax, "_source_of", source_of)
    doc = Document("file:///w/box.py", "python", 1, TEXT)
    snapshot_of(doc, TEXT.index("return "))


def test_no_grammar_no_syntax_facts() -> None:
    doc = Document("file:///w/notes.txt", "plaintext", 1, "some text\n")
    snapshot = snapshot_of(doc, 4)
    assert snapshot.tree is None and snapshot.source is None and snapshot.scopes == ()
    assert snapshot.text == "some text\n" and snapshot.offset == 4
