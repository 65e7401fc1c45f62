from __future__ import annotations

import importlib.util

import pytest
import tree_sitter

from codellama_ls.documents.languages import (
    LANGUAGES,
    LanguageSpec,
    grammar_status,
    language_for,
    load_language,
    new_parser,
    spec_by_name,
)

REQUIRED = {
    "python",
    "javascript",
    "typescript",
    "tsx",
    "go",
    "rust",
    "c",
    "cpp",
    "java",
    "lua",
    "bash",
    "ruby",
    "php",
    "csharp",
}

# A small valid program per language: its tree must come out error-free.
SAMPLES = {
    "python": "def f(x: int) -> int:\n    return x + 1\n",
    "javascript": "const f = (x) => <div>{x}</div>;\n",
    "typescript": "function f(x: number): number { return x + 1; }\n",
    "tsx": "const f = (x: number) => <div>{x}</div>;\n",
    "go": "package main\n\nfunc f(x int) int { return x + 1 }\n",
    "rust": "fn f(x: i32) -> i32 { x + 1 }\n",
    "c": "int f(int x) { return x + 1; }\n",
    "cpp": "template <typename T> T f(T x) { return x + 1; }\n",
    "java": "class A { int f(int x) { return x + 1; } }\n",
    "lua": "local function f(x)\n  return x + 1\nend\n",
    "bash": 'f() {\n  echo "$1"\n}\n',
    "ruby": "def f(x)\n  x + 1\nend\n",
    "php": "<html><?php function f($x) { return $x + 1; } ?></html>\n",
    "csharp": "class A { int F(int x) { return x + 1; } }\n",
}


def test_required_languages_present() -> None:
    assert {s.name for s in LANGUAGES} >= REQUIRED
    assert set(SAMPLES) == {s.name for s in LANGUAGES}


def test_table_is_well_formed() -> None:
    ids = [i for s in LANGUAGES for i in s.language_ids]
    exts = [e for s in LANGUAGES for e in s.extensions]
    assert len(ids) == len(set(ids)), "a languageId maps to two entries"
    assert len(exts) == len(set(exts)), "an extension maps to two entries"
    assert all(i == i.lower() for i in ids)
    assert all(e.startswith(".") and e == e.lower() for e in exts)
    for spec in LANGUAGES:
        assert spec.module.startswith("tree_sitter_")
        assert spec.line_comment or spec.block_comment
        assert spec_by_name(spec.name) is spec


@pytest.mark.parametrize(
    ("language_id", "name"),
    [
        ("python", "python"),
        ("javascript", "javascript"),
        ("javascriptreact", "javascript"),
        ("typescript", "typescript"),
        ("typescriptreact", "tsx"),
        ("go", "go"),
        ("rust", "rust"),
        ("c", "c"),
        ("cpp", "cpp"),
        ("java", "java"),
        ("lua", "lua"),
        ("shellscript", "bash"),
        ("sh", "bash"),
        ("bash", "bash"),
        ("ruby", "ruby"),
        ("php", "php"),
        ("csharp", "csharp"),
        ("cs", "csharp"),
        ("Python", "python"),
    ],
)
def test_language_for_id(language_id: str, name: str) -> None:
    spec = language_for(language_id)
    assert spec is not None and spec.name == name


@pytest.mark.parametrize(
    ("uri", "name"),
    [
        ("file:///home/u/app.py", "python"),
        ("file:///home/u/stubs/os.pyi", "python"),
        ("file:///home/u/App.JSX", "javascript"),
        ("file:///home/u/mod.mjs", "javascript"),
        ("file:///home/u/a.ts", "typescript"),
        ("file:///home/u/a.tsx", "tsx"),
        ("file:///home/u/main.go", "go"),
        ("file:///home/u/lib.rs", "rust"),
        ("file:///home/u/x.h", "c"),
        ("file:///home/u/x.hpp", "cpp"),
        ("file:///home/u/x.cc", "cpp"),
        ("file:///home/u/A.java", "java"),
        ("file:///home/u/init.lua", "lua"),
        ("file:///home/u/run.sh", "bash"),
        ("file:///home/u/Rakefile.rake", "ruby"),
        ("file:///home/u/index.php", "php"),
        ("file:///home/u/Program.cs", "csharp"),
        ("file:///c%3A/Users/u/my%20app.py", "python"),
        ("file:///home/u/a.py?x=1#frag", "python"),
        ("/home/u/plain/path.rs", "rust"),
    ],
)
def test_language_for_extension(uri: str, name: str) -> None:
    spec = language_for("", uri)
    assert spec is not None and spec.name == name
    assert language_for("plaintext", uri) is spec


@pytest.mark.parametrize(
    ("language_id", "uri"),
    [
        ("plaintext", "file:///home/u/notes.txt"),
        ("markdown", "file:///home/u/README.md"),
        ("", ""),
        ("plaintext", "untitled:Untitled-1"),
        ("plaintext", "file:///home/u/.bashrc"),
        ("plaintext", "file:///home/u.py/Makefile"),
    ],
)
def test_language_for_unknown(language_id: str, uri: str) -> None:
    assert language_for(language_id, uri) is None


def test_language_id_wins_over_extension() -> None:
    spec = language_for("typescriptreact", "file:///home/u/a.js")
    assert spec is not None and spec.name == "tsx"


@pytest.mark.parametrize("spec", LANGUAGES, ids=lambda s: s.name)
def test_grammar_loads_when_installed(spec: LanguageSpec) -> None:
    if importlib.util.find_spec(spec.module) is None:
        assert load_language(spec) is None
        assert new_parser(spec) is None
        pytest.skip(f"{spec.module} is not installed")
    language = load_language(spec)
    assert isinstance(language, tree_sitter.Language)
    assert load_language(spec) is language  # cached
    parser = new_parser(spec)
    assert parser is not None
    tree = parser.parse(SAMPLES[spec.name].encode())
    assert not tree.root_node.has_error, str(tree.root_node)


def test_core_grammars_are_installed() -> None:
    # These are package dependencies, so their absence is a broken install.
    status = grammar_status()
    assert set(status) == {s.name for s in LANGUAGES}
    for name in ("python", "javascript", "typescript", "tsx", "go", "rust", "c", "cpp", "java"):
        assert status[name], name


@pytest.mark.parametrize(
    "spec",
    [
        LanguageSpec("ghost", ("ghost",), (".ghost",), "tree_sitter_ghost_nope", "language", "#", None),
        LanguageSpec("badfn", ("badfn",), (".badfn",), "tree_sitter_python", "no_such_fn", "#", None),
        LanguageSpec("notts", ("notts",), (".notts",), "json", "dumps", "#", None),
    ],
    ids=lambda s: s.name,
)
def test_unusable_grammar_gives_none(spec: LanguageSpec) -> None:
    assert load_language(spec) is None
    assert new_parser(spec) is None
