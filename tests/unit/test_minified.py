"""A request on a minified file costs what the window around the cursor costs, not the line or the file.

Asserted structurally, never by time: the syntax queries' byte ranges and the nodes they hand to
Python, and the characters of the document that the request's text functions search, slice, split
or encode, stay under a constant while the one-line file grows tenfold.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, SupportsIndex

import pytest
import tree_sitter

from codellama_ls.completion.pipeline import complete
from codellama_ls.completion.snapshot import snapshot_of
from codellama_ls.documents import syntax
from codellama_ls.documents.document import Document
from codellama_ls.engine.scripted import ScriptedEngine
from codellama_ls.settings.config import Settings
from tests.support.minified import minified_js

SMALL, LARGE = 190_000, 1_900_000
SUGGESTION = "a+b;if(c){d()}"


class Metered(str):
    """A str that adds up how many of its characters its searches, slices, splits and encodings cover."""

    scanned = 0

    def _span(self, start: SupportsIndex | None, end: SupportsIndex | None) -> int:
        return len(range(*slice(start, end).indices(len(self))))

    def find(self, sub: str, start: SupportsIndex | None = None, end: SupportsIndex | None = None) -> int:  # type: ignore[override]
        Metered.scanned += self._span(start, end)
        return super().find(sub, start, end)

    def rfind(self, sub: str, start: SupportsIndex | None = None, end: SupportsIndex | None = None) -> int:  # type: ignore[override]
        Metered.scanned += self._span(start, end)
        return super().rfind(sub, start, end)

    def __getitem__(self, key: Any) -> str:  # type: ignore[override]
        part = super().__getitem__(key)
        Metered.scanned += len(part)
        return part

    def split(self, *args: Any, **kwargs: Any) -> list[str]:  # type: ignore[override]
        Metered.scanned += len(self)
        return super().split(*args, **kwargs)

    def splitlines(self, *args: Any, **kwargs: Any) -> list[str]:  # type: ignore[override]
        Metered.scanned += len(self)
        return super().splitlines(*args, **kwargs)

    def encode(self, *args: Any, **kwargs: Any) -> bytes:  # type: ignore[override]
        Metered.scanned += len(self)
        return super().encode(*args, **kwargs)


@dataclass
class Cost:
    query_bytes: int
    """Widest byte range a syntax query ran over."""
    captured: int
    """Nodes the syntax queries handed to Python."""
    scanned: int
    """Characters of the document the text functions covered."""


def _cursors(text: str) -> Iterator[int]:
    """Cursors inside function bodies, spread over the file."""
    for fraction in (0.3, 0.6, 0.9):
        yield text.index("return ", int(len(text) * fraction)) + len("return ")


def _request_cost(size: int, monkeypatch: pytest.MonkeyPatch) -> Cost:
    text = minified_js(size)
    doc = Document("file:///bundle.min.js", "javascript", 1, text, max_bytes=4 * size)
    assert doc.tree is not None
    cost = Cost(0, 0, 0)
    real = syntax._captures

    def metered(query: tree_sitter.Query, node: tree_sitter.Node, start: int, end: int) -> Any:
        found = real(query, node, start, end)
        cost.query_bytes = max(cost.query_bytes, end - start)
        cost.captured += sum(len(nodes) for nodes in found.values())
        return found

    monkeypatch.setattr(syntax, "_captures", metered)
    engine = ScriptedEngine(SUGGESTION, n_ctx=2048)
    for offset in _cursors(text):
        snapshot = snapshot_of(doc, offset, others=[])
        Metered.scanned = 0
        result = complete(engine, replace(snapshot, text=Metered(snapshot.text)), Settings(), lambda: False)
        cost.scanned = max(cost.scanned, Metered.scanned)
        assert len(result.plan.window.prefix) + len(result.plan.window.suffix) < 8192
    return cost


def test_a_request_on_a_minified_line_is_bounded_by_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    small = _request_cost(SMALL, monkeypatch)
    large = _request_cost(LARGE, monkeypatch)
    # A few nodes around the cursor, not the ~48,000 functions before it on the line.
    assert large.query_bytes <= 64
    assert large.captured <= 3 * 40
    assert large.captured <= small.captured * 2
    # The window (2,048 tokens), the syntax check's region (32 K) and the lines around the
    # cursor: a constant, the same for a file ten times larger.
    assert large.scanned <= 160_000
    assert large.scanned <= small.scanned * 1.25


def test_the_syntax_check_parses_a_bounded_region() -> None:
    from codellama_ls.completion.syntax_gate import MAX_REGION, ErrorCheck

    text = minified_js(LARGE)
    doc = Document("file:///bundle.min.js", "javascript", 1, text, max_bytes=4 * LARGE)
    offset = next(_cursors(text))
    snapshot = snapshot_of(doc, offset)
    assert doc.language is not None
    # The outermost scope is the bundle's wrapper, the whole line: it is not what gets parsed.
    assert snapshot.scopes[-1][1] - snapshot.scopes[-1][0] > LARGE // 2
    assert snapshot.source is not None
    source, cursor = snapshot.source, snapshot.cursor_byte
    checker = ErrorCheck.create(doc.language, source, cursor, snapshot.tree, snapshot.scope_bytes)
    assert checker is not None
    assert len(checker.source) <= MAX_REGION + 2 * 4096
    assert checker.added_errors("a+b") == 0
    assert checker.added_errors("a+(b") > 0


def test_the_generated_file_is_one_dense_line() -> None:
    text = minified_js(LARGE)
    assert minified_js(LARGE) == text
    assert "\n" not in text and len(text) >= LARGE
    assert text.count("function") > LARGE // 80


def test_a_minified_other_document_is_indexed_once_and_its_line_left_out() -> None:
    from codellama_ls.completion import crossfile
    from codellama_ls.completion.crossfile import OtherDocument, select

    bundle = OtherDocument("file:///bundle.min.js", "var path=parseConfig;" + minified_js(SMALL))
    helpers = OtherDocument("file:///helpers.js", "function parseConfig(path) {\n  return loadToml(path);\n}\n")
    text = select([bundle, helpers], "const config = parseConfig(path);\n", 500, len, "//")
    assert text.startswith("// helpers.js\nfunction parseConfig(path)")
    assert "bundle.min.js" not in text  # its one line is no readable context
    index = crossfile._index_of(bundle)
    assert crossfile._index_of(bundle) is index  # the next request does not scan the document again
    assert all(len(chunk) <= crossfile.MAX_LINE for _, chunk, _ in index)
