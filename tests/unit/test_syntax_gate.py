"""The syntax gate's counter: does an insertion add ERROR/MISSING nodes? (what production uses)"""

from __future__ import annotations

import pytest

from codellama_ls.completion.syntax_gate import ErrorCheck
from codellama_ls.documents.syntax import enclosing_scopes
from tests.unit.test_syntax import CURSOR, parse

EDITS: list[tuple[str, str, str, str]] = [
    # (language, source with the insertion point, a good insertion, a bad one)
    ("python", "def f():\n    return ‸\n\nx = 1\n", "1 + 2", "(1 + "),
    ("javascript", "function f() {\n  ‸\n}\n", "return 1;", "return (1;"),
    ("typescript", "function f(): number {\n  ‸\n}\n", "return 1;", "return [1;"),
    ("tsx", "const C = () => {\n  ‸\n};\n", "return <div />;", "return <div>;"),
    ("go", "package main\n\nfunc f() int {\n\t‸\n}\n", "return 1", "return (1"),
    ("rust", "fn f() -> i32 {\n    ‸\n}\n", "1 + 2", "(1 + "),
    ("c", "int f(void) {\n  ‸\n}\n", "return 1;", "return (1;"),
    ("cpp", "int f() {\n  ‸\n}\n", "return 1;", "return {1;"),
    ("java", "class A {\n  int f() {\n    ‸\n  }\n}\n", "return 1;", "return (1;"),
    ("lua", "local function f()\n  ‸\nend\n", "return 1", "return (1"),
    ("bash", "f() {\n  ‸\n}\n", "echo hi", "echo $(("),
    ("ruby", "def f\n  ‸\nend\n", "1 + 2", "(1 + "),
    ("php", "<?php\nfunction f() {\n  ‸\n}\n", "return 1;", "return (1;"),
    ("csharp", "class A {\n  int F() {\n    ‸\n  }\n}\n", "return 1;", "return (1;"),
]


@pytest.mark.parametrize(("lang", "text", "good", "bad"), EDITS)
def test_added_errors(lang: str, text: str, good: str, bad: str) -> None:
    spec, tree, source, at = parse(lang, text)
    scopes = [(s.start, s.end) for s in enclosing_scopes(tree, spec, at[CURSOR], source=source)]
    # The document's parse, a fresh one, or the enclosing definition's lines alone (as the server
    # checks; a PHP definition cut out of its file is still PHP, not HTML text).
    for given, around in ((tree, []), (None, []), (tree, scopes)):
        check = ErrorCheck.create(spec, source, at[CURSOR], given, around)
        assert check is not None
        assert check.added_errors(good) <= 0
        assert check.added_errors(bad) > 0


def test_errors_already_there_do_not_count() -> None:
    spec, tree, source, at = parse("python", "x = (\n\ndef f():\n    ‸\n")
    assert tree.root_node.has_error
    check = ErrorCheck.create(spec, source, at[CURSOR], tree)
    assert check is not None
    assert check.added_errors("return 1") <= 0


def test_scope_limits_the_parse_to_the_definition() -> None:
    text = "x = (\n\ndef f():\n    ‸\n\ny = 1\n"
    spec, tree, source, at = parse("python", text)
    start = source.index(b"def f")
    check = ErrorCheck.create(spec, source, at[CURSOR], tree, scopes=[(start, at[CURSOR])])
    assert check is not None
    assert not check.tree.root_node.has_error  # the broken line above is outside the scope
    assert check.source.startswith(b"def f():")
    assert check.added_errors("return 1") == 0
    assert check.added_errors("return (1") > 0


# A hole cut after `if ` (or `else `, `while `) leaves the document broken: tree-sitter's enclosing
# definition then ends at the block's own closer, and a suggestion reopening the block looked unclosed.
BROKEN_AT_CURSOR: list[tuple[str, str, str, str]] = [
    # (language, source cut at the insertion point, the line that was there, a line with an error of its own)
    ("javascript", "function f(a) {\n  if ‸\n    return 2;\n  }\n  return 3;\n}\n", "(a > 1) {", "(a > 1 {"),
    ("javascript", "function f(a) {\n  if (a) {\n    a++;\n  } else ‸\n    a--;\n  }\n}\n", "{", "{ (a"),
    ("typescript", "function f(a: number): number {\n  while ‸\n    a--;\n  }\n  return a;\n}\n", "(a) {", "(a {"),
    ("tsx", "const C = (a: number) => {\n  if ‸\n    return <div />;\n  }\n  return null;\n};\n", "(a) {", "(a {"),
    ("go", "package main\n\nfunc f(a int) int {\n\tif ‸\n\t\treturn 2\n\t}\n\treturn 3\n}\n", "a > 1 {", "a > (1 {"),
    ("rust", "fn f(a: i32) -> i32 {\n    if ‸\n        return 2;\n    }\n    3\n}\n", "a > 1 {", "a > (1 {"),
    ("c", "int f(int a) {\n  if ‸\n    return 2;\n  }\n  return 3;\n}\n", "(a > 1) {", "(a > 1 {"),
    ("c", "int f(int a) {\n  if (a) {\n    a++;\n  } else ‸\n    a--;\n  }\n  return a;\n}\n", "{", "(a {"),
    ("cpp", "int f(int a) {\n  for ‸\n    a++;\n  }\n  return a;\n}\n", "(int i = 0; i < 3; i++) {", "(int i {"),
    ("java", "class A {\n  int f(int a) {\n    if ‸\n      return 2;\n    }\n    return 3;\n  }\n}\n", "(a) {", "(a {"),
    ("php", "<?php\nfunction f($a) {\n  if ‸\n    return 2;\n  }\n  return 3;\n}\n", "($a > 1) {", "($a > 1 {"),
    ("csharp", "class A {\n  int F(int a) {\n    if ‸\n      return 2;\n    }\n    return 3;\n  }\n}", "(a) {", "(a {"),
    ("python", "def f(a):\n    x = 1\n    if ‸\n        return 2\n    return 3\n", "a > 1:", "(a > 1:"),
    ("lua", "local function f(a)\n  if ‸\n    return 2\n  end\n  return 3\nend\n", "a > 1 then", "(a > 1 then"),
    ("ruby", "def f(a)\n  if ‸\n    return 2\n  end\n  3\nend\n", "a > 1", "(a > 1"),
    ("bash", "f() {\n  if ‸\n    echo 2\n  fi\n}\n", '[ "$1" ]; then', '[ "$1" ]; then ('),
]


@pytest.mark.parametrize(("lang", "text", "good", "bad"), BROKEN_AT_CURSOR)
def test_a_block_the_suffix_closes_passes_in_a_document_broken_at_the_cursor(
    lang: str, text: str, good: str, bad: str
) -> None:
    spec, tree, source, at = parse(lang, text)
    scopes = [(s.start, s.end) for s in enclosing_scopes(tree, spec, at[CURSOR], source=source)]
    check = ErrorCheck.create(spec, source, at[CURSOR], tree, scopes)
    assert check is not None
    assert check.added_errors(good) <= 0
    assert check.added_errors(bad) > 0


@pytest.mark.parametrize(
    ("new", "expected"),
    [("return 'ü' * 2\n", 0), ("return (ü\n", 1)],
)
def test_an_actions_replacement_is_checked_from_the_documents_own_bytes(new: str, expected: int) -> None:
    """The action's snapshot carries the document's bytes and one known byte offset: the same verdict
    as encoding the text, with non-ASCII text before the range."""
    from codellama_ls.completion.syntax_gate import replacement_errors
    from codellama_ls.documents.languages import spec_by_name

    text = "s = 'é€😀'\n\n\ndef f():\n    pass\n"
    start = text.index("pass")
    end = start + len("pass\n")
    spec = spec_by_name("python")
    assert spec is not None
    source = text.encode("utf-8")
    for anchor_at in (0, start, len(text)):
        anchor = (anchor_at, len(text[:anchor_at].encode("utf-8")))
        found = replacement_errors(spec, text, start, end, new, source=source, anchor=anchor)
        assert found == replacement_errors(spec, text, start, end, new) == expected
