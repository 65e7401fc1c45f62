"""The editable region: about N lines around the cursor, cut between statements where the tree says so."""

from __future__ import annotations

import pytest

from codellama_ls.documents.document import Document
from codellama_ls.nextedit.region import Region, editable_region
from tests.support.cursor import split_cursor

# (language, source with the cursor marked, lines asked for, the region with a tree, without one)
CASES: list[tuple[str, str, int, str, str]] = [
    (
        "python",
        "import os\n\n\ndef f(a,\n      b):\n    x = g(a,\n          b)\n    █return x\n\n\nclass C:\n    pass\n",
        5,
        "    x = g(a,\n          b)\n    return x\n\n\n",
        "    x = g(a,\n          b)\n    return x\n\n\n",
    ),
    (
        "python",
        "def f(a,\n      b):\n    x = g(a,\n          b)\n    █return x\n",
        3,
        "    x = g(a,\n          b)\n    return x\n",
        "    x = g(a,\n          b)\n    return x\n",
    ),
    (
        "javascript",
        "function f(a) {\n  const x = g(a,\n    b);\n  return █x;\n}\n\nfunction h() {\n  return 1;\n}\n",
        4,
        "  const x = g(a,\n    b);\n  return x;\n}\n",
        "    b);\n  return x;\n}\n\n",
    ),
    (
        "go",
        "package main\n\nfunc f(a int) int {\n\tx := g(a,\n\t\tb)\n\treturn █x\n}\n\nfunc h() {}\n",
        4,
        "\tx := g(a,\n\t\tb)\n\treturn x\n}\n",
        "\t\tb)\n\treturn x\n}\n\n",
    ),
    (
        "rust",
        "fn f(a: i32) -> i32 {\n    let x = g(\n        a,\n    );\n    █x\n}\n",
        3,
        "    let x = g(\n        a,\n    );\n    x\n",
        "    );\n    x\n}\n",
    ),
    ("python", "x = 1\ny = 2\nz = █3\n", 15, "x = 1\ny = 2\nz = 3\n", "x = 1\ny = 2\nz = 3\n"),
    ("python", "x = 1\ny = █2", 15, "x = 1\ny = 2", "x = 1\ny = 2"),
    ("python", "█", 15, "", ""),
    ("plaintext", "a\nb\nc\nd\ne\n█f\ng\nh\ni\n", 3, "e\nf\ng\n", "e\nf\ng\n"),
]


@pytest.mark.parametrize(("language", "marked", "lines", "with_tree", "without"), CASES)
def test_region(language: str, marked: str, lines: int, with_tree: str, without: str) -> None:
    text, cursor = split_cursor(marked)
    doc = Document("file:///w/a", language, 1, text)
    region = editable_region(text, cursor, lines, doc.tree, doc.source_bytes)
    assert region.of(text) == with_tree
    assert editable_region(text, cursor, lines).of(text) == without
    # Whole lines, the cursor's included, and the line numbers agree with the offsets.
    assert region.start <= cursor <= region.end
    assert region.start == 0 or text[region.start - 1] == "\n"
    assert region.start_line == text.count("\n", 0, region.start)
    covered = region.of(text)
    assert region.end_line - region.start_line == covered.count("\n") + (not covered.endswith("\n"))


def test_region_in_a_long_file_and_unicode() -> None:
    text = "".join(f"v{i} = 'é{i}'\n" for i in range(100_000))
    cursor = text.index("v50000 ")
    doc = Document("file:///w/a.py", "python", 1, text)
    region = editable_region(text, cursor, 9, doc.tree, doc.source_bytes)
    assert region == Region(text.index("v49996 "), text.index("v50005 "), 49996, 50005)
