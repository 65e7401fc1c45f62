"""The workspace index: what a file defines and imports per language, which files are read, and
updates (an edit, a file changed or deleted on disk, a folder added or removed)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from codellama_ls.documents.languages import spec_by_name
from codellama_ls.workspace import files as files_module
from codellama_ls.workspace.definitions import Trees, extract
from codellama_ls.workspace.files import MAX_BYTES, Filters, list_files, read_source
from codellama_ls.workspace.index import WorkspaceIndex


def _facts(language: str, text: str):  # type: ignore[no-untyped-def]
    spec = spec_by_name(language)
    assert spec is not None
    return extract(spec, f"/w/file.{language}", text)


# (language, source, [(kind, container, name, signature)], [(module, names, alias)])
DEFINITIONS = [
    (
        "python",
        'from .a import b, c as d\nimport x.y as z\nLIMIT = 3\nclass K(Base):\n    """A K."""\n'
        "    def run(self, n: int) -> int:\n        return n\ndef top(a,\n        b):\n    def inner(): pass\n",
        [
            ("constant", "", "LIMIT", "LIMIT = 3"),
            ("class", "", "K", "class K(Base):"),
            ("method", "K", "run", "    def run(self, n: int) -> int:"),
            ("function", "", "top", "def top(a,\n        b):"),
        ],
        [(".a", ("b", "c as d"), ""), ("x.y", (), "z")],
    ),
    (
        "javascript",
        'import { a, b } from "./m";\nconst c = require("./c");\n'
        "export function f(x) { return x; }\nclass K { m(y) { return y; } }\nconst g = (z) => z;\n",
        [
            ("function", "", "f", "export function f(x) { return x; }"),
            ("class", "", "K", "class K { m(y) { return y; } }"),
            ("method", "K", "m", "class K { m(y) { return y; } }"),
            ("function", "", "g", "const g = (z) => z;"),
        ],
        [("./m", ("a", "b"), ""), ("./c", (), "c")],
    ),
    (
        "typescript",
        'import * as ns from "../n";\ninterface Shape {\n  area(): number;\n}\ntype Id = string;\n'
        "export class Box {\n  size(): number { return 1; }\n}\n",
        [
            ("interface", "", "Shape", "interface Shape {"),
            ("method", "Shape", "area", "  area(): number;"),
            ("type", "", "Id", "type Id = string;"),
            ("class", "", "Box", "export class Box {"),
            ("method", "Box", "size", "  size(): number { return 1; }"),
        ],
        [("../n", (), "ns")],
    ),
    (
        "go",
        'package p\nimport (\n\tf "fmt"\n\t"example.com/m/util"\n)\n// T is a thing.\ntype T struct {\n\ta int\n}\n'
        "func (t *T) Get(k string) int {\n\treturn 0\n}\nfunc New() *T { return nil }\nconst Max = 3\n",
        [
            ("type", "", "T", "type T struct {"),
            ("method", "T", "Get", "func (t *T) Get(k string) int {"),
            ("function", "", "New", "func New() *T { return nil }"),
            ("constant", "", "Max", "const Max = 3"),
        ],
        [("fmt", (), "f"), ("example.com/m/util", (), "")],
    ),
    (
        "rust",
        "use crate::shapes::{Circle, area};\nmod util;\npub struct P { x: i32 }\n"
        "impl P {\n    pub fn new(x: i32) -> Self { P { x } }\n}\npub fn free(a: u8) -> u8 { a }\n",
        [
            ("struct", "", "P", "pub struct P { x: i32 }"),
            ("impl", "", "P", "impl P {"),
            ("method", "P", "new", "    pub fn new(x: i32) -> Self { P { x } }"),
            ("function", "", "free", "pub fn free(a: u8) -> u8 { a }"),
        ],
        [("crate::shapes::{Circle, area}", (), ""), ("util", (), "")],
    ),
    (
        "java",
        "package a;\nimport com.x.Y;\npublic class A {\n  public int f(int x) {\n    return x;\n  }\n}\n",
        [("class", "", "A", "public class A {"), ("method", "A", "f", "  public int f(int x) {")],
        [("com.x.Y", (), "")],
    ),
    (
        "c",
        '#include "util/str.h"\n#include <stdio.h>\n#define N 3\nint add(int a, int b);\n'
        "struct point { int x; };\nint add(int a, int b) {\n  return a + b;\n}\n",
        [
            ("constant", "", "N", "#define N 3"),
            ("function", "", "add", "int add(int a, int b);"),
            ("struct", "", "point", "struct point { int x; };"),
            ("function", "", "add", "int add(int a, int b) {"),
        ],
        [("util/str.h", (), "")],
    ),
    (
        "cpp",
        '#include "a.hpp"\nclass C {\n public:\n  int m(int v);\n};\nint C::m(int v) { return v; }\n',
        [
            ("class", "", "C", "class C {"),
            ("method", "C", "m", "  int m(int v);"),
            ("function", "", "C::m", "int C::m(int v) { return v; }"),
        ],
        [("a.hpp", (), "")],
    ),
]


@pytest.mark.parametrize(("language", "source", "definitions", "imports"), DEFINITIONS, ids=[r[0] for r in DEFINITIONS])
def test_definitions_and_imports_per_language(
    language: str, source: str, definitions: list[tuple[str, str, str, str]], imports: list[tuple[str, tuple, str]]
) -> None:
    facts = _facts(language, source)
    assert [(d.kind, d.container, d.name, d.signature) for d in facts.definitions] == definitions
    assert [(i.module, i.names, i.alias) for i in facts.imports] == imports


def test_a_python_excerpt_has_the_signature_the_doc_line_and_a_bounded_body() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(40))
    facts = _facts("python", f'def f(a: int) -> int:\n    """Do f.\n\n    Long text."""\n{body}\n    return a\n')
    (definition,) = facts.definitions
    assert definition.doc == "Do f."
    lines = definition.excerpt.split("\n")
    assert lines[:3] == ["def f(a: int) -> int:", '    """Do f."""', "    x0 = 0"]
    assert lines[-1] == "    # ..." and len(lines) <= 16


def test_a_class_excerpt_lists_its_members_signatures() -> None:
    source = "class K:\n    '''Doc.'''\n    def a(self, x):\n        return x\n    def b(self):\n        pass\n"
    (klass, *_) = _facts("python", source).definitions
    assert klass.excerpt == 'class K:\n    """Doc."""\n    def a(self, x):\n    def b(self):'


def test_local_definitions_are_not_indexed() -> None:
    facts = _facts("python", "def f():\n    X = 1\n    def g():\n        pass\n    class L:\n        pass\n")
    assert [d.name for d in facts.definitions] == ["f"]


BASE = (
    'import os\n\n\nclass Shape:\n    """A shape."""\n\n    def area(self, unit=\'m\'):\n        return 0\n\n\n'
    "def grow(shape, by):\n    return shape\n\n\nLIMIT = 3\n"
)
# Each edit of BASE (old text -> new text, first occurrence), one version after the other: the
# incremental parse from the last tree must give exactly what a parse from scratch gives.
EDITS = [
    ("def grow(shape, by):", "def grow(shape, by, *, twice=False):"),  # inside a line
    ("LIMIT = 3\n", "LIMIT = 3\nSTEP = 'é'\n"),  # at the end, with a multi-byte character
    ("import os\n", ""),  # at the start: every line moves up
    ("        return 0\n", "        return 0\n\n    def scale(self, k):\n        return k\n"),  # a method added
    ("class Shape:", "class Shape(Base):"),
    ("def grow", "de grow"),  # a syntax error
    ("de grow", "def grow"),  # and repaired
    ("", ""),  # the same text again
]


def test_a_file_parsed_again_from_its_last_tree_gives_what_a_fresh_parse_gives() -> None:
    spec = spec_by_name("python")
    assert spec is not None
    trees = Trees()
    text = BASE
    extract(spec, "/w/shape.py", text, trees)
    for old, new in EDITS:
        text = text.replace(old, new, 1)
        assert extract(spec, "/w/shape.py", text, trees) == extract(spec, "/w/shape.py", text), (old, new)
    assert trees.reused == len(EDITS)


def test_only_a_few_trees_are_kept() -> None:
    spec = spec_by_name("python")
    assert spec is not None
    trees = Trees(max_files=2, max_bytes=1000)
    for name in ("a", "b", "c"):
        extract(spec, f"/w/{name}.py", "x = 1\n", trees)
    extract(spec, "/w/big.py", "x = 1\n" * 100, trees)  # over half the bytes: not kept
    for name in ("c", "b", "a", "big"):
        extract(spec, f"/w/{name}.py", "x = 2\n", trees)
    assert trees.reused == 2  # c and b were the two kept; a had gone, big never came


def _module(count: int) -> str:
    """A Python module of `count` functions (over 16 KB: it keeps an outline), a class and comments."""
    parts = ['"""A generated module."""\n\nimport os\nfrom .base import Base\n\nLIMIT = 3\n']
    for n in range(count):
        parts.append(
            f"\n\n# Function {n}.\ndef function_{n}(value, factor={n}):\n"
            f'    """Scale value {n} times."""\n    total = value * factor\n'
            f"    for step in range({n}):\n        total += step\n    return total\n"
        )
        if n == count // 2:
            parts.append(
                '\n\nclass Shape(Base):\n    """A shape."""\n\n    def area(self, unit=\'m\'):\n'
                "        return 0\n\n    def grow(self, by):\n        return self\n"
            )
    return "".join(parts)


MODULE = _module(120)
# Each change of MODULE (old text -> new text, first occurrence), one version after the other.
FRAGMENT_EDITS = [
    ("def function_40(value, factor=40):", "def function_40(value, factor=40, *, twice=False):"),
    ("    return self\n", "    return self\n\n    def scale(self, k):\n        return k\n"),  # a method added
    ("# Function 41.\n", "# Function 41.\n@cached\n"),  # a decorator above an unchanged function
    ("\n\n# Function 50.\n", "\n\nEXTRA = 1\n\n\ndef added(x):\n    return x\n\n\n# Function 50.\n"),
    ("import os\n", "import os\nimport sys\n"),  # at the start: every line moves
    ("# Function 119.\n", "# Function one hundred nineteen.\n"),  # a comment only, at the end
    ("def function_60(", "def function_60 ("),
    ("def function_70(value", "def function_70(value:"),  # a syntax error: read whole
    ("def function_70(value:", "def function_70(value"),  # repaired
    ('    """Scale value 30 times."""\n', '    """Scale value 30 times.\n'),  # a string left open
    ('    """Scale value 30 times.\n', '    """Scale value 30 times."""\n'),
    ("class Shape(Base):", "class Shape(Base, Mixin):"),
]


def test_a_change_reads_only_the_statements_it_touched_and_gives_what_a_whole_parse_gives() -> None:
    spec = spec_by_name("python")
    assert spec is not None
    text = MODULE
    facts = extract(spec, "/w/module.py", text)
    assert facts.outline is not None and len(text) > 16 * 1024
    partial = 0
    for old, new in FRAGMENT_EDITS:
        assert old in text, old
        text = text.replace(old, new, 1)
        facts = extract(spec, "/w/module.py", text, previous=facts)
        whole = extract(spec, "/w/module.py", text)
        assert facts == whole, (old, new)
        assert [i.line for i in facts.imports] == [i.line for i in whole.imports]
        assert facts.outline is not None and whole.outline is not None
        assert (facts.outline.starts, facts.outline.comments) == (whole.outline.starts, whole.outline.comments)
        partial += facts.outline.parsed_rows < whole.outline.parsed_rows / 4
    assert partial >= len(FRAGMENT_EDITS) - 4  # the syntax errors (and the class, a tenth of the file) are not


def test_a_changed_comment_gives_the_definition_below_it_its_new_doc() -> None:
    spec = spec_by_name("c")
    assert spec is not None
    text = "".join(f"/* Adds {n}, the sum of a and b. */\nint add_{n}(int a, int b);\n\n" for n in range(300))
    facts = extract(spec, "/w/add.h", text)
    assert facts.outline is not None
    for old, new in [("/* Adds 100,", "/* Sums 100,"), ("/* Adds 101, the sum of a and b. */\n", "")]:
        text = text.replace(old, new, 1)
        facts = extract(spec, "/w/add.h", text, previous=facts)
        assert facts == extract(spec, "/w/add.h", text)
        assert facts.outline is not None and facts.outline.parsed_rows < 20
    docs = [d.doc for d in facts.definitions if d.name in ("add_100", "add_101")]
    assert docs == ["Sums 100, the sum of a and b.", ""]


# -- which files are read ----------------------------------------------------------


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def test_the_walk_skips_ignored_vendored_generated_and_unknown_files(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "src/a.py": "def a(): pass\n",
            "src/b.js": "function b() {}\n",
            "src/app.min.js": "function m(){}\n",
            "src/msg_pb2.py": "X = 1\n",
            "node_modules/lib/index.js": "function x() {}\n",
            ".venv/lib/site.py": "def s(): pass\n",
            "build/out.py": "def o(): pass\n",
            "notes.txt": "text\n",
            "secret/keys.py": "K = 1\n",
            "logs/x.py": "X = 1\n",
            ".gitignore": "secret/\n*.log\nlogs\n",
            "sub/.gitignore": "local.py\n",
            "sub/local.py": "L = 1\n",
            "sub/kept.py": "K = 1\n",
        },
    )
    listed, capped = list_files(tmp_path, Filters())
    assert sorted(p.relative_to(tmp_path).as_posix() for p, _ in listed) == ["src/a.py", "src/b.js", "sub/kept.py"]
    assert not capped


def test_git_lists_tracked_and_unignored_files(tmp_path: Path) -> None:
    _write(tmp_path, {"a.py": "A = 1\n", "ignored.py": "I = 1\n", ".gitignore": "ignored.py\n", "new.py": "N = 1\n"})
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "a.py", ".gitignore"], check=True)
    listed, _ = list_files(tmp_path, Filters())
    assert sorted(p.name for p, _ in listed) == ["a.py", "new.py"]


def test_include_exclude_and_the_file_cap(tmp_path: Path) -> None:
    _write(
        tmp_path, {f"pkg/m{i}.py": "X = 1\n" for i in range(10)} | {"tests/t.py": "T = 1\n", "pkg/x.go": "package x\n"}
    )
    listed, _ = list_files(tmp_path, Filters(exclude=("tests/*",), include=("*.py",)))
    assert {p.parent.name for p, _ in listed} == {"pkg"} and all(p.suffix == ".py" for p, _ in listed)
    listed, capped = list_files(tmp_path, Filters(max_files=3))
    assert len(listed) == 3 and capped


def test_huge_binary_minified_unreadable_and_outside_files_are_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    outside = tmp_path / "outside.py"
    outside.write_text("SECRET = 1\n")
    _write(
        folder,
        {
            "huge.py": "x = 1\n" * (MAX_BYTES // 6 + 10),
            "binary.py": b"X = 1\n\0\0\0",
            "minified.js": "var a=1;" * 2000,
            "locked.py": "L = 1\n",
            "fine.py": "F = 1\n",
        },
    )
    (folder / "link.py").symlink_to(outside)
    (folder / "locked.py").chmod(0)
    assert read_source(folder, folder / "huge.py") is None
    assert read_source(folder, folder / "binary.py") is None
    assert read_source(folder, folder / "minified.js") is None
    assert read_source(folder, folder / "link.py") is None
    assert read_source(folder, folder / "../outside.py") is None
    if os.geteuid() != 0:  # root reads anything
        assert read_source(folder, folder / "locked.py") is None
    assert read_source(folder, folder / "fine.py") == "F = 1\n"


def test_a_symlink_loop_is_not_followed(tmp_path: Path) -> None:
    _write(tmp_path, {"a/m.py": "M = 1\n"})
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a")
    (tmp_path / "self.py").symlink_to(tmp_path / "self.py")
    listed, _ = list_files(tmp_path, Filters())
    assert sorted(p.relative_to(tmp_path).as_posix() for p, _ in listed) == ["a/m.py", "self.py"]
    assert read_source(tmp_path, tmp_path / "self.py") is None


# -- the index and its updates -----------------------------------------------------


@pytest.fixture
def index() -> WorkspaceIndex:
    built = WorkspaceIndex()
    yield built
    built.close()


def _names(index: WorkspaceIndex) -> set[str]:
    return {d.name for f in index.all_facts() for d in f.definitions}


def test_nothing_outside_the_folders_is_opened(tmp_path: Path, index: WorkspaceIndex, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "ws"
    _write(folder, {"a.py": "def a(): pass\n"})
    _write(tmp_path, {"elsewhere.py": "def e(): pass\n"})
    (folder / "out.py").symlink_to(tmp_path / "elsewhere.py")
    _facts("python", "X = 1\n")  # the query file is read before the spy
    opened: list[Path] = []
    real_open = Path.open

    def spy(self: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(self.resolve())
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spy)
    index.set_folders([folder])
    index.changed_on_disk(tmp_path / "elsewhere.py")
    index.opened(tmp_path / "elsewhere.py", "def live(): pass\n")
    assert index.wait_idle(30)
    assert _names(index) == {"a"}
    assert opened and all(folder.resolve() in p.parents for p in opened)


def test_changes_on_disk_deletions_edits_and_folders(tmp_path: Path, index: WorkspaceIndex) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    _write(one, {"a.py": "def alpha(): pass\n", "b.py": "def beta(): pass\n"})
    _write(two, {"c.py": "def gamma(): pass\n"})
    index.set_folders([one])
    assert index.wait_idle(30) and _names(index) == {"alpha", "beta"}

    (one / "a.py").write_text("def alpha2(): pass\n")
    index.changed_on_disk(one / "a.py")
    (one / "b.py").unlink()
    index.deleted(one / "b.py")
    assert index.wait_idle(30) and _names(index) == {"alpha2"}

    # An open document's live text wins over the disk, and is kept when the file is deleted.
    index.opened(one / "d.py", "def delta(): pass\n")
    index.edited(one / "d.py", "def delta2(): pass\n")
    index.changed_on_disk(one / "d.py")
    assert index.wait_idle(30) and _names(index) == {"alpha2", "delta2"}

    index.add_folder(two)
    assert index.wait_idle(30) and _names(index) == {"alpha2", "delta2", "gamma"}
    index.remove_folder(two)
    assert index.wait_idle(30) and _names(index) == {"alpha2", "delta2"}
    assert index.stats.files == 2 and index.stats.definitions == 2


def test_a_file_notified_with_the_text_it_had_is_not_indexed_again(tmp_path: Path, index: WorkspaceIndex) -> None:
    _write(tmp_path, {"a.py": "def alpha(): pass\n"})
    index.set_folders([tmp_path])
    assert index.wait_idle(30)
    before = index.generation
    index.changed_on_disk(tmp_path / "a.py")  # a checkout that left it alone
    index.opened(tmp_path / "a.py", "def alpha(): pass\n")  # opened as it is on disk
    assert index.wait_idle(30) and index.generation == before
    index.edited(tmp_path / "a.py", "def alpha(x): pass\n")
    assert index.wait_idle(30) and index.generation > before
    assert index.named("alpha")[0][1].signature == "def alpha(x): pass"
    assert index.trees.reused == 0  # its first change since the scan: parsed whole, its tree kept
    index.edited(tmp_path / "a.py", "def alpha(x, y): pass\n")
    assert index.wait_idle(30) and index.trees.reused == 1
    assert index.named("alpha")[0][1].signature == "def alpha(x, y): pass"


def test_a_request_never_waits_for_a_scan(tmp_path: Path, index: WorkspaceIndex, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import threading

    _write(tmp_path, {f"m{i}.py": f"def f{i}(): pass\n" for i in range(20)})
    gate = threading.Event()
    real = files_module.read_source

    def slow(folder: Path, path: Path) -> str | None:
        gate.wait(10)
        return real(folder, path)

    monkeypatch.setattr("codellama_ls.workspace.index.read_source", slow)
    index.set_folders([tmp_path])
    assert index.named("f1") == [] and not index.idle()  # answered at once, from what is there
    gate.set()
    assert index.wait_idle(30) and len(index.named("f1")) == 1
