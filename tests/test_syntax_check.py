"""The syntax gate's counter: does an insertion add ERROR/MISSING nodes? (what production uses)"""

from __future__ import annotations

import pytest

from codellama_ls.syntax_check import ErrorCheck
from tests.test_syntax import CURSOR, parse

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
    for given in (tree, None):  # the document's parse, or a fresh one
        check = ErrorCheck.create(spec, source, at[CURSOR], given)
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
