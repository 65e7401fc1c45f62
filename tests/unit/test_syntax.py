"""The syntax layer: context queries per language and the rules around them.

Sources mark the cursor with ‸ and, where a span is expected, its ends with « and ».
"""

from __future__ import annotations

import itertools

import pytest
import tree_sitter
from lsprotocol.types import TextDocumentContentChangeWholeDocument

from codellama_ls.documents import syntax
from codellama_ls.documents.document import Document
from codellama_ls.documents.languages import LANGUAGES, LanguageSpec, load_language, new_parser, spec_by_name
from codellama_ls.documents.syntax import Span

CURSOR, OPEN, CLOSE = "‸", "«", "»"


def marked(text: str) -> tuple[bytes, dict[str, int]]:
    """The source without markers, and each marker's byte offset."""
    out: list[str] = []
    positions: dict[str, int] = {}
    pos = 0
    for ch in text:
        if ch in (CURSOR, OPEN, CLOSE):
            positions[ch] = pos
            continue
        out.append(ch)
        pos += len(ch.encode())
    return "".join(out).encode(), positions


def spec_of(lang: str) -> LanguageSpec:
    spec = spec_by_name(lang)
    assert spec is not None, lang
    if load_language(spec) is None:
        pytest.skip(f"no tree-sitter grammar for {lang}")
    return spec


def parse(lang: str, text: str) -> tuple[LanguageSpec, tree_sitter.Tree, bytes, dict[str, int]]:
    spec = spec_of(lang)
    source, positions = marked(text)
    parser = new_parser(spec)
    assert parser is not None
    return spec, parser.parse(source), source, positions


def first_line(source: bytes, span: Span) -> str:
    return source[span.start : span.end].decode().split("\n")[0].strip()


# -- in_comment_or_string --------------------------------------------------------

IN_LITERAL: list[tuple[str, str, bool]] = [
    ("python", "x = 1  # note‸\n", True),
    ("python", "# a‸b\nx = 1\n", True),
    ("python", 's = "ab‸c"\n', True),
    ("python", 's = "abc"‸\n', False),
    ("python", 's = f"a{b‸}c"\n', False),
    ("python", 's = f"a{b}‸c"\n', True),
    ("python", 's = """doc\nmore‸\n"""\n', True),
    ("python", "x = 1‸\n", False),
    ("python", "‸# c\n", False),
    ("python", 'def f():\n    s = "abc‸\n', True),
    ("javascript", "f(); // hi‸\n", True),
    ("javascript", "/* a‸ */ f();\n", True),
    ("javascript", "/* a */‸ f();\n", False),
    ("javascript", "const s = 'a‸b';\n", True),
    ("javascript", "const s = 'ab'‸;\n", False),
    ("javascript", "const s = `a${b‸}c`;\n", False),
    ("javascript", "const s = `a${b}c‸`;\n", True),
    ("javascript", "const r = /ab‸c/;\n", True),
    ("javascript", 'f("abc", "de‸\n', True),
    ("javascript", "f(); /* open‸\n", True),
    ("javascript", "const x = a‸ + b;\n", False),
    ("typescript", "let x: string = 'a‸';\n", True),
    ("typescript", "let x: number = 1; // c‸\n", True),
    ("typescript", "let x: number = 1‸;\n", False),
    ("typescript", "const t = `${a‸}`;\n", False),
    ("tsx", 'const a = <div title="x‸">hi</div>;\n', True),
    ("tsx", "const a = <div>h‸i</div>;\n", False),
    ("tsx", "// c‸\nconst a = 1;\n", True),
    ("go", "package main\n// c‸\n", True),
    ("go", 'package main\nvar x = "a‸b"\n', True),
    ("go", "package main\nvar x = `raw‸`\n", True),
    ("go", "package main\nvar x = 'a‸'\n", True),
    ("go", "package main\nvar x = 1‸\n", False),
    ("rust", "fn f() {} // x‸\n", True),
    ("rust", "/* a‸ */ fn f() {}\n", True),
    ("rust", 'fn f() { let s = "a‸"; }\n', True),
    ("rust", 'fn f() { let s = r#"a‸"#; }\n', True),
    ("rust", "fn f<'a‸>(x: &'a str) {}\n", False),
    ("rust", "/// doc‸\nfn f() {}\n", True),
    ("c", "int x; // c‸\n", True),
    ("c", "int x; /* a‸ */\n", True),
    ("c", 'char *s = "a‸";\n', True),
    ("c", "char c = 'a‸';\n", True),
    ("c", "#include <std‸io.h>\n", True),
    ("c", "int x = 1;‸\n", False),
    ("c", "int x; /* open‸\nint y;\n", True),
    ("cpp", 'auto s = R"(ra‸w)";\n', True),
    ("cpp", "int x; // c‸\n", True),
    ("cpp", "int x‸ = 1;\n", False),
    ("java", "class A { int x; } // c‸\n", True),
    ("java", "/** doc‸ */\nclass A {}\n", True),
    ("java", 'class A { String s = "a‸"; }\n', True),
    ("java", 'class A { String s = """\n  te‸xt\n  """; }\n', True),
    ("java", "class A { char c = 'c‸'; }\n", True),
    ("java", "class A { int x‸; }\n", False),
    ("lua", "local x = 1 -- c‸\n", True),
    ("lua", "--[[ a‸ ]]\nlocal x = 1\n", True),
    ("lua", "local x = 1 --[[ x ]]‸\n", False),
    ("lua", 'local s = "a‸"\n', True),
    ("lua", "local s = [[lo‸ng]]\n", True),
    ("lua", "local s = 1‸\n", False),
    ("lua", 'local s = "abc‸\n', True),
    ("bash", "echo hi # c‸\n", True),
    ("bash", 'echo "a‸"\n', True),
    ("bash", "echo 'a‸'\n", True),
    ("bash", 'echo "a $(ls ‸) b"\n', False),
    ("bash", "cat <<EOF\nhel‸lo\nEOF\n", True),
    ("bash", "echo a‸\n", False),
    ("ruby", "x = 1 # c‸\n", True),
    ("ruby", "x = 'a‸'\n", True),
    ("ruby", 'x = "a#{b‸}"\n', False),
    ("ruby", 'x = "a#{b}‸c"\n', True),
    ("ruby", "=begin\nx‸\n=end\n", True),
    ("ruby", "s = <<~EOS\n  hi‸\nEOS\n", True),
    ("ruby", "x = 1‸\n", False),
    ("php", "<?php\n// c‸\n", True),
    ("php", "<?php\n# c‸\n", True),
    ("php", "<?php\n/* c‸ */\n", True),
    ("php", "<?php\n/* c */‸\n", False),
    ("php", "<?php\n$s = 'a‸';\n", True),
    ("php", '<?php\n$s = "hi $na‸me";\n', True),
    ("php", "<?php\n$x = 1;‸\n", False),
    ("php", '<html><?php echo "x‸"; ?></html>\n', True),
    ("csharp", "class A {} // c‸\n", True),
    ("csharp", "/// <summary>‸\nclass A {}\n", True),
    ("csharp", 'class A { string s = @"x‸"; }\n', True),
    ("csharp", 'class A { string s = $"a{b‸}"; }\n', False),
    ("csharp", 'class A { string s = $"a{b}‸c"; }\n', True),
    ("csharp", 'class A { string s = """raw‸"""; }\n', True),
    ("csharp", "class A { char c = 'c‸'; }\n", True),
    ("csharp", "class A { int x‸; }\n", False),
]


@pytest.mark.parametrize(("lang", "text", "expected"), IN_LITERAL)
def test_in_comment_or_string(lang: str, text: str, expected: bool) -> None:
    spec, tree, source, at = parse(lang, text)
    assert syntax.in_comment_or_string(tree, spec, at[CURSOR]) is expected
    # The tree alone (source recovered from it) gives the same answer.
    assert syntax.in_comment_or_string(tree, spec, at[CURSOR], source=source) is expected


# -- enclosing_scopes ------------------------------------------------------------

SCOPES: list[tuple[str, str, list[str]]] = [
    ("python", "class A:\n    def g(self):\n        x = 1‸\n", ["def g(self):", "class A:"]),
    ("python", "class A:\n    def g(self):\n        pass\n        ‸\n\nz = 1\n", ["def g(self):", "class A:"]),
    ("python", "class A:\n    def g(self):\n        pass\n    ‸\n\nz = 1\n", ["class A:"]),
    ("python", "class A:\n    def g(self):\n        pass\n‸\nz = 1\n", []),
    ("python", "@dec\ndef f():\n    ‸pass\n", ["def f():", "@dec"]),
    ("python", "def f():\n    ‸\n", ["def f():"]),
    ("python", "‸def f():\n    pass\n", []),
    ("python", "def f():\r\n    x = 1\r\n    ‸\r\n", ["def f():"]),
    ("python", "def f():\n    x = 1\n    # todo‸\n", ["def f():"]),
    ("python", "def f():\n    x = 1   ‸\n", ["def f():"]),
    ("python", "def f():\n    x = 1\n# top‸\n", []),
    ("python", "def f():\n    x = 1\n\n\n        ‸\n\nclass B:\n    pass\n", ["def f():"]),
    (
        "javascript",
        "class A {\n  m() {\n    const f = () => {\n      ‸\n    };\n  }\n}\n",
        ["() => {", "m() {", "class A {"],
    ),
    ("javascript", "const g = (x) => x‸ + 1;\n", []),
    ("javascript", "function f() {\n  a();\n}‸\n", []),
    ("javascript", "function f() {\n  a();\n  ‸\n", ["function f() {"]),
    ("typescript", "interface I {\n  a: number;‸\n}\n", ["interface I {"]),
    ("typescript", "class A {\n  m(): void {\n    ‸\n  }\n}\n", ["m(): void {", "class A {"]),
    ("typescript", "enum E { A‸ }\n", ["enum E { A }"]),
    ("tsx", "const C = () => {\n  return <div>{x‸}</div>;\n};\n", ["() => {"]),
    ("tsx", "function C() {\n  ‸\n}\n", ["function C() {"]),
    ("tsx", "const x = 1‸;\n", []),
    ("go", "package main\n\nfunc f() {\n\tg := func() {\n\t\t‸\n\t}\n}\n", ["func() {", "func f() {"]),
    ("go", "package main\n\nfunc (s *S) M() {\n\t‸\n}\n", ["func (s *S) M() {"]),
    ("go", "package main\n\ntype S struct {\n\ta int‸\n}\n", ["type S struct {"]),
    (
        "rust",
        "impl A {\n    fn f(&self) {\n        let c = |x| {\n            ‸\n        };\n    }\n}\n",
        ["|x| {", "fn f(&self) {", "impl A {"],
    ),
    ("rust", "struct S {\n    a: i32,‸\n}\n", ["struct S {"]),
    ("rust", "fn f() {}\n‸\n", []),
    ("c", "int f(void) {\n  int x = 1;\n  ‸\n}\n", ["int f(void) {"]),
    ("c", "struct S {\n  int a;‸\n};\n", ["struct S {"]),
    ("c", "int f(void) {\n  return 0;\n}\n‸\n", []),
    (
        "cpp",
        "namespace n {\nclass A {\n  void f() {\n    auto l = [](int x) {\n      ‸\n    };\n  }\n};\n}\n",
        ["[](int x) {", "void f() {", "class A {", "namespace n {"],
    ),
    ("cpp", "template <typename T>\nT f(T x) {\n  ‸\n}\n", ["T f(T x) {", "template <typename T>"]),
    ("cpp", "int x‸ = 1;\n", []),
    (
        "java",
        "class A {\n  void f() {\n    Runnable r = () -> {\n      ‸\n    };\n  }\n}\n",
        ["() -> {", "void f() {", "class A {"],
    ),
    (
        "java",
        "class A {\n  Object o = new Object() {\n    ‸\n  };\n}\n",
        ["new Object() {", "class A {"],
    ),
    ("java", "interface I {\n  void f();‸\n}\n", ["interface I {"]),
    ("lua", "local function f(a)\n  x()\n  ‸\nend\n", ["local function f(a)"]),
    ("lua", "local h = function()\n  ‸\nend\n", ["function()"]),
    ("lua", "function M.g()\nend‸\n", []),
    ("bash", "f() {\n  echo hi\n  ‸\n}\n", ["f() {"]),
    ("bash", "function g {\n  ‸\n}\n", ["function g {"]),
    ("bash", "echo hi‸\n", []),
    (
        "ruby",
        "module M\n  class A\n    def f(a)\n      x = 1\n      ‸\n    end\n  end\nend\n",
        ["def f(a)", "class A", "module M"],
    ),
    ("ruby", "[1].each do |i|\n  p i\n  ‸\nend\n", ["do |i|"]),
    ("ruby", "def g\nend\n‸\n", []),
    ("php", "<?php\nclass A {\n  public function m() {\n    ‸\n  }\n}\n", ["public function m() {", "class A {"]),
    ("php", "<?php\n$g = function ($x) {\n  ‸\n};\n", ["function ($x) {"]),
    ("php", "<?php\n$x = 1;‸\n", []),
    (
        "csharp",
        "namespace Foo {\n  class A {\n    void F() {\n      ‸\n    }\n  }\n}\n",
        ["void F() {", "class A {", "namespace Foo {"],
    ),
    (
        "csharp",
        "class A {\n  void F() {\n    Func<int, int> g = x => {\n      ‸\n    };\n  }\n}\n",
        ["x => {", "void F() {", "class A {"],
    ),
    ("csharp", "using System;‸\n", []),
]


@pytest.mark.parametrize(("lang", "text", "expected"), SCOPES)
def test_enclosing_scopes(lang: str, text: str, expected: list[str]) -> None:
    spec, tree, source, at = parse(lang, text)
    byte = at[CURSOR]
    spans = syntax.enclosing_scopes(tree, spec, byte)
    assert [first_line(source, span) for span in spans] == expected
    for inner, outer in itertools.pairwise(spans):
        assert outer.start <= inner.start and inner.end <= outer.end
    assert all(span.start <= byte <= span.end for span in spans)


def test_without_source_argument_leading_blank_lines_are_rebuilt() -> None:
    # The tree's root starts at the first token; the blank lines before it are
    # rebuilt so line arithmetic still works.
    spec, tree, source, at = parse("python", "\n\n\ndef f():\n    x = 1\n    ‸\n")
    assert tree.root_node.start_byte > 0
    with_source = syntax.enclosing_scopes(tree, spec, at[CURSOR], source=source)
    assert [first_line(source, span) for span in with_source] == ["def f():"]
    assert syntax.enclosing_scopes(tree, spec, at[CURSOR]) == with_source


def test_offsets_past_the_end_are_clamped() -> None:
    spec, tree, source, _at = parse("python", "def f():\n    # c\n    x = 1‸")
    assert syntax.enclosing_scopes(tree, spec, len(source) + 50) == [Span(0, len(source))]
    assert syntax.in_comment_or_string(tree, spec, -3) is False


# -- header_span -----------------------------------------------------------------

HEADERS: list[tuple[str, str]] = [
    ("python", '"""Doc."""\n«import os\n# c\nfrom x import y»\n\nz = 1\nimport late\n'),
    ("python", "x = 1\nimport os\n"),
    ("python", '#!/usr/bin/env python\n"""Doc."""\n\n«import os»\n\nmain()\n'),
    (
        "python",
        "«from __future__ import annotations\n\ntry:\n    import ujson as json\nexcept ImportError:\n"
        "    import json»\n\nx = 1\n",
    ),
    ("python", "«import typing\n\nif typing.TYPE_CHECKING:\n    from a import B»\n\n\ndef f(): pass\n"),
    ("javascript", '"use strict";\n«import a from "a";\nconst b = require("b");»\nfoo();\n'),
    ("javascript", "function f() {}\nimport a from 'a';\n"),
    ("javascript", "/* License */\n'use strict';\n\n«const fs = require('fs');»\nmodule.exports = {};\n"),
    ("typescript", '«import { x } from "y";\nimport z = require("z");»\n\nexport class A {}\n'),
    ("tsx", '// license\n«import React from "react";»\nconst C = () => <div />;\n'),
    ("go", '// Package doc.\n«package main\n\nimport (\n\t"fmt"\n)»\n\nfunc main() {}\n'),
    ("rust", "//! Crate doc.\n«#![allow(dead_code)]\nuse std::io;\nmod a;»\n\nfn main() {}\n"),
    (
        "c",
        '/* License */\n«#ifndef FOO_H\n#define FOO_H\n\n#include <stdio.h>\n#include "x.h"»\n\nint f(void);\n#endif\n',
    ),
    (
        "c",
        "«#include <stdio.h>\n#ifdef _WIN32\n#include <windows.h>\n#else\n#include <unistd.h>\n#endif»\n"
        "int main(void) { return 0; }\n",
    ),
    ("c", "int main(void) { return 0; }\n"),
    ("cpp", "«#pragma once\n#include <vector>\nusing namespace std;»\nnamespace n {}\n"),
    ("java", "/* License */\n«package a.b;\n\nimport java.util.List;\nimport static x.Y.z;»\n\npublic class A {}\n"),
    ("lua", '-- mod\n«local json = require("json")\nlocal x = require "x"»\nlocal M = {}\n'),
    ("bash", "#!/bin/bash\n«set -euo pipefail\nsource ./lib.sh\n. ./other.sh»\n\nmain() { :; }\n"),
    ("ruby", "# frozen_string_literal: true\n«require 'json'\nrequire_relative 'x'»\n\nmodule M; end\n"),
    ("php", "<?php\n«declare(strict_types=1);\nnamespace App;\nuse Foo\\Bar;\nrequire_once 'x.php';»\n\nclass A {}\n"),
    ("php", "<?php\n«namespace Foo {\n  use X;»\n  function f() {}\n}\n"),
    ("csharp", "«using System;\nusing static System.Math;\nnamespace Foo.Bar;»\nclass A {}\n"),
    ("csharp", "«using System;\nnamespace Foo {\n  using X;»\n  class A {}\n}\n"),
]


@pytest.mark.parametrize(("lang", "text"), HEADERS)
def test_header_span(lang: str, text: str) -> None:
    spec, tree, source, at = parse(lang, text)
    header = syntax.header_span(tree, spec)
    expected = Span(at[OPEN], at[CLOSE]) if OPEN in at else None
    assert header == expected, source[header.start : header.end] if header else None


def test_header_span_of_a_long_header_reads_past_the_first_batch() -> None:
    imports = "".join(f"import m{i}\n" for i in range(300))
    spec, tree, _source, _at = parse("python", imports + "\nx = 1\n")
    assert syntax.header_span(tree, spec) == Span(0, len(imports) - 1)


# -- queries ---------------------------------------------------------------------


@pytest.mark.parametrize("spec", LANGUAGES, ids=lambda s: s.name)
def test_every_language_has_a_query_with_the_documented_captures(spec: LanguageSpec) -> None:
    if load_language(spec) is None:
        pytest.skip(f"no tree-sitter grammar for {spec.name}")
    query = syntax.queries_for(spec)
    assert query is not None
    names = {query.capture_name(i) for i in range(query.capture_count)}
    assert {"scope", "comment", "string", "import"} <= names
    assert syntax.queries_for(spec) is query  # compiled once


@pytest.mark.parametrize("spec", LANGUAGES, ids=lambda s: s.name)
def test_no_pattern_is_rooted_at_the_root_node(spec: LanguageSpec) -> None:
    # Such a pattern makes every range-limited query visit all top-level nodes (see grammars/README.md).
    if load_language(spec) is None:
        pytest.skip(f"no tree-sitter grammar for {spec.name}")
    parser = new_parser(spec)
    assert parser is not None
    root_type = parser.parse(b"").root_node.type
    source = syntax._query_source(spec.name)
    assert source is not None
    for pattern in syntax._split_patterns(source):
        assert not pattern.lstrip("([ \n").startswith(root_type + " "), pattern


def test_inherited_queries_are_included() -> None:
    spec_of("typescript")
    source = syntax._query_source("typescript")
    assert source is not None
    assert "(template_substitution) @interpolation" in source  # from javascript
    assert "(interface_declaration) @scope" in source
    tsx = syntax._query_source("tsx")
    assert tsx is not None and "(arrow_function body: (statement_block)) @scope" in tsx


def test_a_pattern_the_grammar_rejects_is_dropped_not_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = spec_of("python")
    good = syntax._read_query_file("python")
    assert good is not None
    monkeypatch.setattr(
        syntax,
        "_read_query_file",
        lambda name, query_file="context.scm": "(no_such_node) @scope\n" + good if name == "python" else None,
    )
    monkeypatch.setattr(syntax, "_QUERIES", {})
    query = syntax.queries_for(spec)
    assert query is not None
    spec_, tree, _source, at = parse("python", "def f():\n    x = 1‸\n")
    assert len(syntax.enclosing_scopes(tree, spec_, at[CURSOR])) == 1


def test_missing_query_file_means_no_syntax_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = spec_of("python")
    monkeypatch.setattr(syntax, "_read_query_file", lambda name, query_file="context.scm": None)
    monkeypatch.setattr(syntax, "_QUERIES", {})
    assert syntax.queries_for(spec) is None
    _spec, tree, _source, at = parse("python", "def f():\n    # c‸\n")
    assert syntax.in_comment_or_string(tree, spec, at[CURSOR]) is False
    assert syntax.enclosing_scopes(tree, spec, at[CURSOR]) == []
    assert syntax.header_span(tree, spec) is None


def test_split_patterns_keeps_captures_and_skips_comments_and_strings() -> None:
    text = '; a (comment)\n(a) @x\n((b) @y (#eq? @y ")("))\n[(c) (d)] @z\n'
    assert [p.strip() for p in syntax._split_patterns(text)] == [
        "(a) @x",
        '((b) @y (#eq? @y ")("))',
        "[(c) (d)] @z",
    ]


# -- with a Document -------------------------------------------------------------


def test_works_on_a_document_tree_after_edits() -> None:
    spec_of("python")
    doc = Document("file:///t.py", "python", 1, "import os\n\ndef f():\n    x = 1\n")
    edited = "import os\n\ndef f():\n    x = 1\n    s = 'héllo wörld'\n"
    doc.apply_change(TextDocumentContentChangeWholeDocument(text=edited), 2)
    tree = doc.tree
    assert tree is not None and doc.language is not None
    offset = doc.text.index("wörld") + 2
    byte = doc.byte_offset(offset)
    assert syntax.in_comment_or_string(tree, doc.language, byte)
    scopes = syntax.enclosing_scopes(tree, doc.language, byte)
    assert [doc.text[doc.offset_of_byte(s.start) : doc.offset_of_byte(s.end)].split("\n")[0] for s in scopes] == [
        "def f():"
    ]
    header = syntax.header_span(tree, doc.language)
    assert header == Span(0, len(b"import os"))
