from __future__ import annotations

import random
from typing import Any

import pytest
import tree_sitter
from lsprotocol.types import (
    Position,
    Range,
    TextDocumentContentChangePartial,
    TextDocumentContentChangeWholeDocument,
)

import codellama_ls.documents.document as document_module
from codellama_ls.documents.document import Document, DocumentStore, UnknownDocument
from codellama_ls.documents.languages import LanguageSpec, language_for, new_parser
from codellama_ls.documents.positions import LineIndex, PositionEncoding, PositionError

U8, U16, U32 = PositionEncoding.UTF8, PositionEncoding.UTF16, PositionEncoding.UTF32

SOURCES: dict[str, tuple[str, str]] = {
    "python": (
        "file:///w/app.py",
        'import os\n\n\nclass Greeter:\n    """Says hello — 你好 😀."""\n\n'
        "    def __init__(self, name: str) -> None:\n        self.name = name\n\n"
        "    def greet(self) -> str:\n        if not self.name:\n"
        "            raise ValueError('empty')\n"
        '        return f"hello {self.name} 🌍"\n\n\n'
        "def main() -> None:\n    for n in os.environ:\n        print(Greeter(n).greet())\n",
    ),
    "javascript": (
        "file:///w/app.js",
        "// greeting — 你好 😀\n"
        "export function greet(name) {\n  if (!name) {\n    throw new Error('empty');\n  }\n"
        "  return `hello ${name} 🌍`;\n}\n\n"
        "const names = ['a', 'b', 'ç'];\nfor (const n of names) {\n  console.log(greet(n));\n}\n",
    ),
    "go": (
        "file:///w/main.go",
        'package main\n\nimport "fmt"\n\n// Greet says hello — 你好 😀\n'
        "func Greet(name string) (string, error) {\n"
        '\tif name == "" {\n\t\treturn "", fmt.Errorf("empty")\n\t}\n'
        '\treturn "hello " + name + " 🌍", nil\n}\n\n'
        'func main() {\n\tfor _, n := range []string{"a", "b"} {\n'
        "\t\ts, _ := Greet(n)\n\t\tfmt.Println(s)\n\t}\n}\n",
    ),
    "rust": (
        "file:///w/main.rs",
        "/// Says hello — 你好 😀\n"
        "fn greet(name: &str) -> Result<String, String> {\n"
        '    if name.is_empty() {\n        return Err("empty".to_string());\n    }\n'
        '    Ok(format!("hello {} 🌍", name))\n}\n\n'
        'fn main() {\n    for n in ["a", "b"] {\n'
        '        println!("{}", greet(n).unwrap());\n    }\n}\n',
    ),
    "typescript": (
        "file:///w/app.ts",
        "// greeting — 你好 😀\n"
        "export function greet(name: string): string {\n"
        "  return `hello ${name} 🌍`;\n}\n\n"
        "interface Named {\n  name: string;\n}\n",
    ),
    "c": (
        "file:///w/main.c",
        "#include <stdio.h>\n\n/* 你好 😀 */\nint main(void) {\n"
        '    for (int i = 0; i < 3; i++) {\n        printf("%d 🌍\\n", i);\n    }\n'
        "    return 0;\n}\n",
    ),
}

INSERTS = [
    "x",
    "name",
    " ",
    "\t",
    "é",
    "中文",
    "😀",
    "𝕏y",
    "\n",
    "\r\n",
    "\r",
    "(",
    ")",
    "{",
    "}",
    "'",
    '"',
    ":",
    ";",
    "\n    return 1\n",
    "/* c */",
    "# c",
]


def tree_signature(tree: tree_sitter.Tree) -> list[tuple[Any, ...]]:
    """Every node with its byte and point extents, in document order."""
    out: list[tuple[Any, ...]] = []
    cursor = tree.walk()

    def visit() -> None:
        n = cursor.node
        assert n is not None
        out.append(
            (
                n.type,
                n.start_byte,
                n.end_byte,
                tuple(n.start_point),
                tuple(n.end_point),
                n.is_missing,
                n.is_error,
            )
        )
        if cursor.goto_first_child():
            visit()
            while cursor.goto_next_sibling():
                visit()
            cursor.goto_parent()

    visit()
    return out


def assert_consistent(doc: Document, text: str) -> None:
    assert doc.text == text
    raw = text.encode("utf-8", "surrogatepass")
    assert doc.byte_length == len(raw)
    assert doc.source_bytes == raw
    tree = doc.tree
    parser = new_parser(doc.language) if doc.language is not None else None
    if parser is None or doc.skip_reason is not None:
        assert tree is None
        return
    assert tree is not None
    assert tree_signature(tree) == tree_signature(parser.parse(raw))
    assert str(tree.root_node) == str(parser.parse(raw).root_node)


def no_crlf_split(text: str, off: int) -> int:
    # Between CR and LF there is no LSP position; step back onto the CR.
    return off - 1 if text[off - 1 : off + 1] == "\r\n" else off


@pytest.mark.parametrize("language", sorted(SOURCES))
@pytest.mark.parametrize("encoding", [U8, U16, U32])
@pytest.mark.parametrize("crlf", [False, True])
def test_random_edits_match_fresh_parse(language: str, encoding: PositionEncoding, crlf: bool) -> None:
    uri, text = SOURCES[language]
    if crlf:
        text = text.replace("\n", "\r\n")
    rng = random.Random(f"{language}-{encoding.value}-{crlf}")
    doc = Document(uri, language, 1, text, encoding=encoding)
    assert doc.language is not None and doc.language.name == language
    assert_consistent(doc, text)
    for version in range(2, 80):
        changes = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):  # several changes in one didChange
            start = no_crlf_split(text, rng.randrange(len(text) + 1))
            end = start
            if rng.random() < 0.5:
                end = no_crlf_split(text, min(len(text), start + rng.randrange(8)))
                end = max(start, end)
            new = "".join(rng.choice(INSERTS) for _ in range(rng.randrange(3)))
            # Each change is relative to the text the previous one left.
            model = LineIndex(text)
            changes.append(
                TextDocumentContentChangePartial(
                    range=Range(
                        Position(*model.position(start, encoding)),
                        Position(*model.position(end, encoding)),
                    ),
                    text=new,
                )
            )
            text = text[:start] + new + text[end:]
        doc.apply_changes(changes, version)
        assert doc.version == version
        assert doc.text == text
        if rng.random() < 0.4:  # let edits pile up between parses, as typing does
            assert_consistent(doc, text)
    assert_consistent(doc, text)


def test_store_change_applies_changes_in_order() -> None:
    store = DocumentStore()
    doc = store.open("file:///w/a.py", "python", 1, "a = 1\n")
    store.change(
        "file:///w/a.py",
        2,
        [
            TextDocumentContentChangePartial(range=Range(Position(0, 4), Position(0, 5)), text="2"),
            TextDocumentContentChangePartial(range=Range(Position(1, 0), Position(1, 0)), text="b"),
            TextDocumentContentChangePartial(range=Range(Position(1, 1), Position(1, 1)), text=" = 😀"),
            TextDocumentContentChangePartial(range=Range(Position(1, 6), Position(1, 6)), text="!"),
        ],
    )
    assert doc.version == 2
    assert_consistent(doc, "a = 2\nb = 😀!")


def test_clamped_ranges() -> None:
    doc = Document("file:///w/a.py", "python", 1, "ab\ncd\n")
    # Character past the line end means the line end.
    doc.apply_change(
        TextDocumentContentChangePartial(range=Range(Position(0, 99), Position(0, 99)), text="X"),
        2,
    )
    assert doc.text == "abX\ncd\n"
    # Line past the last line means the end of the document.
    doc.apply_change(
        TextDocumentContentChangePartial(range=Range(Position(1, 1), Position(40, 0)), text=""),
        3,
    )
    assert_consistent(doc, "abX\nc")
    # A reversed range is taken as the same range, not as garbage.
    doc.apply_change(
        TextDocumentContentChangePartial(range=Range(Position(1, 1), Position(0, 1)), text="-"),
        4,
    )
    assert_consistent(doc, "a-")


def test_whole_document_replacement() -> None:
    uri, text = SOURCES["python"]
    doc = Document(uri, "python", 1, text)
    edited = text.replace("hello", "bonjour 😀").replace("\n", "\r\n", 3)
    doc.apply_change(TextDocumentContentChangeWholeDocument(text=edited), 2)
    assert doc.version == 2
    assert_consistent(doc, edited)
    doc.apply_change(TextDocumentContentChangeWholeDocument(text=edited), 3)
    assert_consistent(doc, edited)
    doc.apply_change(TextDocumentContentChangeWholeDocument(text=""), 4)
    assert_consistent(doc, "")
    doc.apply_change(TextDocumentContentChangeWholeDocument(text=SOURCES["python"][1]), 5)
    assert_consistent(doc, SOURCES["python"][1])


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("abc", "abc"),
        ("abc", "abXc"),
        ("aaaa", "aa"),
        ("aa", "aaaa"),
        ("a\r\nb", "a\rb"),
        ("a\rb", "a\r\nb"),
        ("😀😀", "😀x😀"),
        ("", "new"),
        ("old", ""),
        ("abc", "xyz"),
    ],
)
def test_whole_document_diffing(old: str, new: str) -> None:
    doc = Document("file:///w/a.py", "python", 1, old)
    doc.apply_change(TextDocumentContentChangeWholeDocument(text=new), 2)
    assert_consistent(doc, new)
    prefix, suffix = document_module.common_affixes(old, new)
    assert old[:prefix] == new[:prefix]
    assert prefix + suffix <= min(len(old), len(new))
    assert old[len(old) - suffix :] == new[len(new) - suffix :]


def test_random_whole_document_changes() -> None:
    rng = random.Random(3)
    uri, text = SOURCES["rust"]
    doc = Document(uri, "rust", 1, text)
    for version in range(2, 40):
        a = rng.randrange(len(text) + 1)
        b = min(len(text), a + rng.randrange(6))
        text = text[:a] + rng.choice(INSERTS) + text[b:]
        doc.apply_change(TextDocumentContentChangeWholeDocument(text=text), version)
        assert_consistent(doc, text)


def test_held_tree_is_not_edited_under_its_holder() -> None:
    doc = Document("file:///w/a.py", "python", 1, "x = 1\n")
    before = doc.tree
    assert before is not None
    doc.apply_change(
        TextDocumentContentChangePartial(range=Range(Position(0, 0), Position(0, 0)), text="yy"),
        2,
    )
    assert before.root_node.end_byte == 6
    after = doc.tree
    assert after is not None and after is not before
    assert after.root_node.end_byte == 8


def test_no_language_still_tracks_text_and_positions() -> None:
    doc = Document("file:///w/notes.txt", "plaintext", 1, "héllo 😀\nworld")
    assert doc.language is None
    assert doc.tree is None
    assert doc.skip_reason is None
    doc.apply_change(
        TextDocumentContentChangePartial(range=Range(Position(0, 8), Position(1, 0)), text="!"),
        2,
    )
    assert_consistent(doc, "héllo 😀!world")
    assert doc.position_at(len("héllo 😀!")) == (0, 9)
    assert doc.byte_offset(2) == 3


def test_missing_grammar_means_no_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    ghost = LanguageSpec("ghost", ("ghost",), (".ghost",), "tree_sitter_ghost_nope", "language", "#", None)
    monkeypatch.setattr(document_module, "language_for", lambda *_: ghost)
    doc = Document("file:///w/a.ghost", "ghost", 1, "x\n")
    assert doc.language is ghost
    assert doc.tree is None
    doc.apply_change(TextDocumentContentChangeWholeDocument(text="y\n"), 2)
    assert_consistent(doc, "y\n")


def test_positions_follow_encoding() -> None:
    text = "a😀b\r\nc"
    for enc, char in ((U8, 5), (U16, 3), (U32, 2)):
        doc = Document("file:///w/a.py", "python", 1, text, encoding=enc)
        assert doc.offset_at(0, char) == 2
        assert doc.position_at(2) == (0, char)
        assert doc.offset_at(1, 0) == 5
        assert doc.offset_at(0, 99, clamp=True) == 3
        with pytest.raises(PositionError):
            doc.offset_at(0, 99)
    doc = Document("file:///w/a.py", "python", 1, text)
    assert doc.byte_offset(2) == 5
    assert doc.offset_of_byte(5) == 2
    assert doc.line_count == 2
    assert doc.line_text(0) == "a😀b"


def test_binary_document_is_kept_but_not_parsed() -> None:
    doc = Document("file:///w/a.py", "python", 1, "x = 1\x00\ny = 2")
    assert doc.binary and not doc.too_large
    assert doc.skip_reason == "binary file (contains NUL bytes)"
    assert doc.tree is None
    assert doc.position_at(8) == (1, 1)  # positions still right
    doc.apply_change(
        TextDocumentContentChangePartial(range=Range(Position(0, 5), Position(0, 6)), text=""),
        2,
    )
    assert not doc.binary and doc.skip_reason is None
    assert_consistent(doc, "x = 1\ny = 2")
    doc.apply_change(
        TextDocumentContentChangePartial(range=Range(Position(0, 0), Position(0, 0)), text="\x00"),
        3,
    )
    assert doc.binary and doc.tree is None


def test_too_large_document_is_kept_but_not_parsed() -> None:
    text = "x = '😀'\n" * 10  # 11 bytes a line
    doc = Document("file:///w/a.py", "python", 1, text, max_bytes=100)
    assert doc.byte_length == 110
    assert doc.too_large and not doc.binary
    assert doc.skip_reason == "file too large: 110 bytes > 100 byte limit"
    assert doc.tree is None
    assert doc.position_at(len(text)) == (10, 0)
    doc.apply_change(
        TextDocumentContentChangePartial(range=Range(Position(0, 0), Position(1, 0)), text=""),
        2,
    )
    assert doc.byte_length == 99 and doc.skip_reason is None
    assert_consistent(doc, text[8:])
    doc.apply_change(
        TextDocumentContentChangePartial(range=Range(Position(0, 0), Position(0, 0)), text="yy"),
        3,
    )
    assert doc.too_large and doc.tree is None
    assert_consistent(doc, "yy" + text[8:])


def test_default_limit() -> None:
    assert Document("file:///w/a.py", "python", 1, "").max_bytes == 2_000_000
    assert DocumentStore().open("file:///w/a.py", "python", 1, "x").max_bytes == 2_000_000


def test_store_basics() -> None:
    store = DocumentStore()
    assert len(store) == 0 and "file:///a.py" not in store
    doc = store.open("file:///a.py", "python", 3, "x")
    assert "file:///a.py" in store and len(store) == 1
    assert store.get("file:///a.py") is doc
    assert list(store) == [doc]
    assert (doc.uri, doc.language_id, doc.version, doc.text) == ("file:///a.py", "python", 3, "x")
    reopened = store.open("file:///a.py", "python", 4, "y")
    assert store.get("file:///a.py") is reopened and len(store) == 1
    store.close("file:///a.py")
    store.close("file:///a.py")  # closing twice is harmless
    assert "file:///a.py" not in store and len(store) == 0


def test_unknown_document() -> None:
    store = DocumentStore()
    with pytest.raises(UnknownDocument) as info:
        store.get("file:///nope.py")
    assert isinstance(info.value, KeyError)
    assert info.value.uri == "file:///nope.py"
    assert str(info.value) == "document is not open: file:///nope.py"
    with pytest.raises(UnknownDocument):
        store.change("file:///nope.py", 2, [TextDocumentContentChangeWholeDocument(text="")])


def test_store_encoding_applies_to_open_and_new_documents() -> None:
    store = DocumentStore()
    assert store.encoding is U16
    old = store.open("file:///a.py", "python", 1, "😀x")
    assert old.position_at(1) == (0, 2)
    store.encoding = PositionEncoding.UTF8
    assert old.encoding is U8 and old.position_at(1) == (0, 4)
    new = store.open("file:///b.py", "python", 1, "😀x")
    assert new.encoding is U8
    store.encoding = "utf-32"  # the raw negotiated string
    assert store.encoding is U32 and old.position_at(1) == (0, 1)


def test_language_from_extension_when_id_unknown() -> None:
    doc = Document("file:///w/main.go", "whatever", 1, "package main\n")
    assert doc.language is not None and doc.language.name == "go"
    assert doc.tree is not None
    assert language_for("whatever", "file:///w/main.go") is doc.language


def test_edits_far_apart_in_a_large_file() -> None:
    """Typing in two places far apart in a 5,000-line file (its cost: benchmarks/syntax_bench.py)."""
    line = "    result = compute_something(alpha, beta)  # note\n"
    text = "def f():\n" + line * 2500 + "def g():\n" + "    s = '中文 😀'\n" * 2498
    doc = Document("file:///w/big.py", "python", 1, text)
    assert doc.line_count == 5001 and doc.tree is not None
    n = 300
    for i in range(n):
        # Typing in two places far apart, which defeats purely local caching.
        row = 10 if i % 2 else 4000
        doc.apply_change(
            TextDocumentContentChangePartial(range=Range(Position(row, 8), Position(row, 8)), text="x"),
            i + 2,
        )
    assert doc.line_text(10).startswith("    resux")
    assert_consistent(doc, doc.text)


def test_store_max_bytes_applies_to_open_documents() -> None:
    store = DocumentStore(max_bytes=10)
    doc = store.open("file:///w/a.py", "python", 1, "x = 12345678\n")
    assert doc.too_large and doc.tree is None
    store.max_bytes = 1000
    assert doc.max_bytes == 1000 and doc.skip_reason is None
    assert_consistent(doc, "x = 12345678\n")
    doc.apply_change(
        TextDocumentContentChangePartial(range=Range(Position(0, 4), Position(0, 4)), text="9"),
        2,
    )
    store.max_bytes = 5
    assert doc.too_large and doc.tree is None
    assert store.open("file:///w/b.py", "python", 1, "").max_bytes == 5


def test_parse_is_deferred_until_the_tree_is_read() -> None:
    uri, text = SOURCES["go"]
    doc = Document(uri, "go", 1, text)
    assert doc._tree is None  # nothing parsed by didOpen itself
    doc.apply_change(
        TextDocumentContentChangePartial(range=Range(Position(0, 0), Position(0, 0)), text="// x\n"),
        2,
    )
    assert_consistent(doc, "// x\n" + text)
