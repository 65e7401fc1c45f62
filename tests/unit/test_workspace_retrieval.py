"""Import resolution per language, what the cursor wants, and the definitions retrieval picks and
the prompt holds: within its budget, and the same while the user types within a statement."""

from __future__ import annotations

import itertools
import posixpath
from collections.abc import Iterator
from pathlib import Path

import pytest

from codellama_ls.completion.pipeline import Plan, plan
from codellama_ls.completion.snapshot import Snapshot, snapshot_of
from codellama_ls.documents.document import Document
from codellama_ls.engine.base import vocab_of
from codellama_ls.engine.scripted import ScriptedEngine
from codellama_ls.settings.config import Settings
from codellama_ls.workspace.definitions import ImportRef
from codellama_ls.workspace.index import WorkspaceIndex
from codellama_ls.workspace.resolve import resolve
from codellama_ls.workspace.retrieval import receivers, retrieve, wanted
from tests.conftest import needs_llama


class FakeLookup:
    def __init__(self, paths: list[str]) -> None:
        self.paths = set(paths)

    def exists(self, path: str) -> bool:
        return path in self.paths

    def paths_named(self, file_name: str) -> list[str]:
        return sorted(p for p in self.paths if posixpath.basename(p) == file_name)

    def dirs_ending(self, suffix: str) -> list[str]:
        return sorted({posixpath.dirname(p) for p in self.paths if posixpath.dirname(p).endswith("/" + suffix)})

    def files_in(self, directory: str) -> list[str]:
        return sorted(p for p in self.paths if posixpath.dirname(p) == directory)


FILES = [
    "/w/pkg/__init__.py",
    "/w/pkg/config.py",
    "/w/pkg/sub/__init__.py",
    "/w/pkg/sub/deep.py",
    "/w/pkg/main.py",
    "/w/web/src/util.ts",
    "/w/web/src/lib/index.ts",
    "/w/web/src/app.ts",
    "/w/web/src/old.js",
    "/w/go/util/strings.go",
    "/w/go/util/strings_test.go",
    "/w/go/cmd/main.go",
    "/w/rs/src/lib.rs",
    "/w/rs/src/shapes.rs",
    "/w/rs/src/shapes/circle.rs",
    "/w/rs/src/util/mod.rs",
    "/w/java/src/com/acme/Widget.java",
    "/w/java/src/com/acme/Gadget.java",
    "/w/java/src/com/acme/app/Main.java",
    "/w/c/include/util/str.h",
    "/w/c/src/main.c",
    "/w/c/src/local.h",
]

# (language, importer, import, expected files, expected local names, expected module alias)
RESOLUTION = [
    ("python", "/w/pkg/main.py", ImportRef(".config", ("Client",)), ["/w/pkg/config.py"], [("Client", "Client")], ""),
    ("python", "/w/pkg/sub/deep.py", ImportRef("..config", ("x as y",)), ["/w/pkg/config.py"], [("y", "x")], ""),
    (
        "python",
        "/w/pkg/main.py",
        ImportRef(".", ("config",)),
        ["/w/pkg/__init__.py", "/w/pkg/config.py"],
        [("config", "config")],
        "",
    ),
    ("python", "/w/pkg/main.py", ImportRef("pkg.sub.deep"), ["/w/pkg/sub/deep.py"], [], "deep"),
    ("python", "/w/pkg/main.py", ImportRef("pkg.sub", (), "s"), ["/w/pkg/sub/__init__.py"], [], "s"),
    (
        "python",
        "/w/pkg/main.py",
        ImportRef("pkg.sub", ("deep",)),
        ["/w/pkg/sub/__init__.py", "/w/pkg/sub/deep.py"],
        [("deep", "deep")],
        "",
    ),
    ("python", "/w/pkg/main.py", ImportRef("json"), [], [], "json"),
    ("typescript", "/w/web/src/app.ts", ImportRef("./util", ("a",)), ["/w/web/src/util.ts"], [("a", "a")], ""),
    ("typescript", "/w/web/src/app.ts", ImportRef("./util.js"), ["/w/web/src/util.ts"], [], ""),
    ("typescript", "/w/web/src/app.ts", ImportRef("./lib", (), "lib"), ["/w/web/src/lib/index.ts"], [], "lib"),
    ("javascript", "/w/web/src/app.ts", ImportRef("./old"), ["/w/web/src/old.js"], [], ""),
    ("javascript", "/w/web/src/app.ts", ImportRef("react"), [], [], ""),
    ("go", "/w/go/cmd/main.go", ImportRef("example.com/m/util"), ["/w/go/util/strings.go"], [], "util"),
    ("go", "/w/go/cmd/main.go", ImportRef("example.com/m/util", (), "u"), ["/w/go/util/strings.go"], [], "u"),
    ("go", "/w/go/cmd/main.go", ImportRef("fmt"), [], [], "fmt"),
    ("rust", "/w/rs/src/lib.rs", ImportRef("util", submodule=True), ["/w/rs/src/util/mod.rs"], [], "util"),
    ("rust", "/w/rs/src/lib.rs", ImportRef("shapes", submodule=True), ["/w/rs/src/shapes.rs"], [], "shapes"),
    (
        "rust",
        "/w/rs/src/util/mod.rs",
        ImportRef("crate::shapes::Circle"),
        ["/w/rs/src/shapes.rs"],
        [("Circle", "Circle")],
        "shapes",
    ),
    (
        "rust",
        "/w/rs/src/lib.rs",
        ImportRef("crate::shapes::{area, circle::Circle}"),
        ["/w/rs/src/shapes.rs", "/w/rs/src/shapes/circle.rs"],
        [("area", "area"), ("Circle", "Circle")],
        "shapes",
    ),
    ("rust", "/w/rs/src/lib.rs", ImportRef("std::io::Read"), [], [("Read", "Read")], ""),
    (
        "java",
        "/w/java/src/com/acme/app/Main.java",
        ImportRef("com.acme.Widget"),
        ["/w/java/src/com/acme/Widget.java"],
        [("Widget", "Widget")],
        "Widget",
    ),
    (
        "java",
        "/w/java/src/com/acme/app/Main.java",
        ImportRef("com.acme"),
        ["/w/java/src/com/acme/Gadget.java", "/w/java/src/com/acme/Widget.java"],
        [],
        "",
    ),
    ("c", "/w/c/src/main.c", ImportRef("local.h"), ["/w/c/src/local.h"], [], ""),
    ("c", "/w/c/src/main.c", ImportRef("util/str.h"), ["/w/c/include/util/str.h"], [], ""),
    ("cpp", "/w/c/src/main.c", ImportRef("missing.h"), [], [], ""),
]


@pytest.mark.parametrize(
    ("language", "importer", "ref", "files", "names", "alias"),
    RESOLUTION,
    ids=[f"{r[0]}:{r[2].module}" for r in RESOLUTION],
)
def test_import_resolution(
    language: str, importer: str, ref: ImportRef, files: list[str], names: list[tuple[str, str]], alias: str
) -> None:
    resolved = resolve(FakeLookup(FILES), language, importer, ref)
    assert sorted(resolved.paths) == sorted(files)
    assert list(resolved.names) == names
    assert resolved.alias == alias


# -- what the cursor wants -----------------------------------------------------------


def test_wanted_names_the_call_being_written_first_and_never_the_name_being_typed() -> None:
    text = "def f(client: Client):\n    items = load_items()\n    data = client.fetch(items, pars"
    wants = wanted(text, len(text), 0)
    assert (wants[0].qualifier, wants[0].name) == ("Client", "fetch")
    names = {w.name for w in wants}
    assert {"Client", "load_items", "items"} <= names
    assert "pars" not in names and "self" not in names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("client: Client = make()", {"client": "Client"}),
        ("conn = Connection(host)", {"conn": "Connection"}),
        ("w := &Widget{}", {"w": "Widget"}),
        ("let p = Point::new(1, 2);", {"p": "Point"}),
        ("const s = new Store();", {"s": "Store"}),
        ("Widget widget = factory.make();", {"widget": "Widget"}),
        ("fn area(shape: &Shape) -> f64 {", {"shape": "Shape"}),
    ],
)
def test_receivers_from_annotations_assignments_and_declarations(text: str, expected: dict[str, str]) -> None:
    assert receivers(text) == expected


# -- retrieval over a real index -------------------------------------------------------

CONFIG = '''"""Configuration."""

DEFAULT_PORT = 8080


def parse_config(path: str, *, strict: bool = False) -> dict[str, str]:
    """Read a config file into a dict."""
    with open(path) as handle:
        return dict(line.split("=", 1) for line in handle)


class Client:
    """Talks to the server."""

    def __init__(self, host: str, port: int = DEFAULT_PORT) -> None:
        self.host = host

    def fetch(self, resource: str, timeout: float = 5.0) -> bytes:
        """Fetch one resource."""
        return b""
'''
DECOY = "def fetch(url, retries):\n    pass\n\n\ndef parse_config(text):\n    pass\n"
MAIN_HEAD = "from .config import Client, parse_config\n\n\ndef run(path: str) -> None:\n"


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[tuple[WorkspaceIndex, Path]]:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "config.py").write_text(CONFIG)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "decoy.py").write_text(DECOY)
    (tmp_path / "pkg" / "main.py").write_text(MAIN_HEAD)
    index = WorkspaceIndex()
    index.set_folders([tmp_path])
    assert index.wait_idle(30)
    yield index, tmp_path
    index.close()


def _snapshot(root: Path, text: str, offset: int | None = None) -> Snapshot:
    doc = Document((root / "pkg" / "main.py").as_uri(), "python", 1, text)
    return snapshot_of(doc, len(text) if offset is None else offset)


def test_retrieval_picks_the_definitions_the_hole_needs(workspace: tuple[WorkspaceIndex, Path]) -> None:
    index, root = workspace
    text = (
        MAIN_HEAD + "    settings = parse_config(path)\n    client = Client(settings['host'])\n    data = client.fetch("
    )
    chunks = retrieve(index, _snapshot(root, text))
    config = (root / "pkg" / "config.py").as_uri()
    first = chunks[0]
    assert first.uri == config and "def fetch(self, resource: str, timeout: float = 5.0) -> bytes:" in first.text
    assert first.reason.startswith("the call being written")
    assert any("def parse_config(path: str" in c.text for c in chunks)
    # The import says which parse_config: never the decoy's, nor its unrelated fetch.
    assert all("decoy" not in c.uri for c in chunks)


def test_an_unimported_name_defined_in_few_places_is_found(workspace: tuple[WorkspaceIndex, Path]) -> None:
    index, root = workspace
    text = "def go():\n    return fetch("
    chunks = retrieve(index, _snapshot(root, text))
    assert chunks and "decoy" in chunks[0].uri and "defined in the workspace" in chunks[0].reason


def test_the_prompt_holds_the_chunks_within_the_budget(workspace: tuple[WorkspaceIndex, Path]) -> None:
    index, root = workspace
    vocab = vocab_of(ScriptedEngine(n_ctx=2048))
    text = MAIN_HEAD + "    client = Client('h')\n    data = client.fetch("
    snapshot = _snapshot(root, text)
    chunks = retrieve(index, snapshot)
    settings = Settings(max_tokens=16, repository_context_share=0.05)
    snapshot = Snapshot(**{**snapshot.__dict__, "repository": chunks})
    small = plan(vocab, 2048, snapshot, settings)
    assert small.sticky is not None
    budget = int((2048 - 16 - 8) * 0.05)
    shown = small.sticky.cross
    assert sum(len(vocab.encode(c.text)) + 8 for c in shown) <= budget
    roomy = plan(vocab, 2048, snapshot, Settings(max_tokens=16))
    assert roomy.sticky is not None and roomy.sticky.cross
    assert any("def fetch(self, resource" in c.text for c in roomy.sticky.cross)
    assert roomy.mode.value == "line" and len(roomy.tokens) > len(small.tokens)
    off = plan(vocab, 2048, snapshot, Settings(max_tokens=16, repository_context=False))
    assert off.sticky is not None and not off.sticky.cross


def test_the_context_stays_put_while_typing_a_statement(workspace: tuple[WorkspaceIndex, Path]) -> None:
    """Every keystroke of a statement whose names resolve to nothing new keeps the chunks, the window
    start and so the prompt's beginning; a finished name that resolves changes them once."""
    index, root = workspace
    vocab = vocab_of(ScriptedEngine(n_ctx=2048))
    settings = Settings(max_tokens=16)
    base = MAIN_HEAD + "    client = Client('h')\n    data = client.fetch('x')\n    "
    typed = "total = len(data) + 1"
    sticky = None
    prompts = []
    for i in range(len(typed) + 1):
        text = base + typed[:i]
        snapshot = _snapshot(root, text)
        snapshot = Snapshot(**{**snapshot.__dict__, "repository": retrieve(index, snapshot), "sticky": sticky})
        result = plan(vocab, 2048, snapshot, settings)
        sticky = result.sticky
        prompts.append(result)
    assert prompts[0].sticky is not None and prompts[0].sticky.cross and prompts[0].mode.value == "line"
    for before, after in itertools.pairwise(prompts):
        assert after.sticky is not None and before.sticky is not None
        assert after.sticky.cross == before.sticky.cross and after.window.start == before.window.start
        shared = 0
        for a, b in zip(before.tokens, after.tokens, strict=False):
            if a != b:
                break
            shared += 1
        # Only the tail (the head being typed and <MID>) differs: a keystroke costs a few tokens.
        assert len(after.tokens) - shared <= 4, (len(after.tokens), shared)


def _typed_plans(index: WorkspaceIndex, root: Path, typed: str, refresh_context: bool = True) -> list[Plan]:
    """A plan per keystroke of `typed` on a new line of main.py, each keeping the one before's."""
    vocab = vocab_of(ScriptedEngine(n_ctx=2048))
    base = MAIN_HEAD + "    client = Client('h')\n    "
    sticky = None
    results = []
    for i in range(len(typed) + 1):
        snapshot = _snapshot(root, base + typed[:i])
        extra = {"repository": retrieve(index, snapshot), "sticky": sticky, "refresh_context": refresh_context}
        result = plan(vocab, 2048, Snapshot(**{**snapshot.__dict__, **extra}), Settings(max_tokens=16))
        sticky = result.sticky
        assert sticky is not None
        results.append(result)
    return results


def test_a_finished_name_that_resolves_changes_the_context_once(workspace: tuple[WorkspaceIndex, Path]) -> None:
    typed = "conf = parse_config(path, stri"
    crosses = [result.sticky.cross for result in _typed_plans(*workspace, typed) if result.sticky is not None]
    changes = [i for i in range(1, len(crosses)) if crosses[i] != crosses[i - 1]]
    assert changes == [typed.index("(") + 1]
    assert any("def parse_config(path: str" in c.text for c in crosses[-1])


def test_a_model_slow_at_prompts_keeps_the_block_until_the_window_is_cut_afresh(
    workspace: tuple[WorkspaceIndex, Path],
) -> None:
    """Where a new block costs a whole prompt more than a keystroke may wait (a 1.3B model on a CPU
    took 20-60 s), the finished name that resolves leaves the block and the prompt's start alone."""
    results = _typed_plans(*workspace, "conf = parse_config(path, stri", refresh_context=False)
    first = results[0].sticky
    assert first is not None and first.cross
    for result in results[1:]:
        assert result.sticky is not None
        assert result.sticky.cross == first.cross and result.sticky.wanted == first.wanted
        assert result.window.start == results[0].window.start
        assert result.tokens[: len(results[0].tokens) - 4] == results[0].tokens[: len(results[0].tokens) - 4]


@pytest.mark.parametrize(
    ("speed", "affordable"),
    [(None, True), (20_000.0, True), (4_500.0, True), (3_000.0, False), (90.0, False)],
    ids=["unknown", "gpu", "fast", "small-cpu", "1.3b-cpu"],
)
def test_a_new_block_is_chosen_under_a_kept_start_only_where_it_costs_a_keystroke(
    speed: float | None, affordable: bool
) -> None:
    from codellama_ls.completion.pipeline import context_refresh_affordable

    assert context_refresh_affordable(speed) is affordable


@needs_llama
def test_typing_with_repository_context_evaluates_a_few_tokens_per_keystroke(
    workspace: tuple[WorkspaceIndex, Path], codellama_gguf: Path
) -> None:
    """The real llama.cpp engine: the context block before the prefix stays cached while the user types."""
    from codellama_ls.completion.pipeline import complete
    from codellama_ls.engine.llama import LlamaEngine

    index, root = workspace
    engine = LlamaEngine(codellama_gguf, n_ctx=2048, n_gpu_layers=0)
    try:
        settings = Settings(max_tokens=4, syntax_check=False)
        base = MAIN_HEAD + "    client = Client('h')\n    data = client.fetch('x')\n    "
        typed = "total = len(data) + 1"
        sticky = None
        evaluated = []
        for i in range(len(typed) + 1):
            snapshot = _snapshot(root, base + typed[:i])
            snapshot = Snapshot(**{**snapshot.__dict__, "repository": retrieve(index, snapshot), "sticky": sticky})
            result = complete(engine, snapshot, settings, lambda: False)
            sticky = result.plan.sticky
            evaluated.append(result.stats.evaluated_tokens)
        assert sticky is not None and sticky.cross
        print("evaluated per keystroke:", evaluated)
        assert max(evaluated[1:]) <= 3, evaluated
    finally:
        engine.close()


# (language, the workspace's files, the current file, its text up to the cursor, a line the first chunk shows)
LANGUAGES = [
    (
        "javascript",
        {"lib/common.js": "function isNegativeZero(number) {\n  return number === 0;\n}\n"},
        "lib/type/int.js",
        "'use strict';\n\nvar common = require('../common');\n\n"
        "function check(object) {\n  return common.isNegativeZero(",
        "function isNegativeZero(number) {",
    ),
    (
        "typescript",
        {
            "src/util.ts": "export function clamp(value: number, low: number, high: number): number {\n"
            "  return value;\n}\n"
        },
        "src/app.ts",
        'import { clamp } from "./util";\n\nexport function draw(x: number) {\n  const y = clamp(',
        "export function clamp(value: number, low: number, high: number): number {",
    ),
    (
        "go",
        {"util/strings.go": "package util\n\nfunc Pad(s string, width int) string {\n\treturn s\n}\n"},
        "cmd/main.go",
        'package main\n\nimport "example.com/m/util"\n\nfunc main() {\n\tx := util.Pad(',
        "func Pad(s string, width int) string {",
    ),
    (
        "rust",
        {"src/shapes.rs": "pub fn area(width: f64, height: f64) -> f64 {\n    width * height\n}\n"},
        "src/lib.rs",
        "mod shapes;\nuse crate::shapes::area;\n\npub fn total() -> f64 {\n    area(",
        "pub fn area(width: f64, height: f64) -> f64 {",
    ),
    (
        "java",
        {
            "src/com/acme/Widget.java": "package com.acme;\n\npublic class Widget {\n"
            "  public static Widget of(String name, int size) {\n    return null;\n  }\n}\n"
        },
        "src/com/acme/app/Main.java",
        "package com.acme.app;\n\nimport com.acme.Widget;\n\nclass Main {\n  void run() {\n    Widget w = Widget.of(",
        "  public static Widget of(String name, int size) {",
    ),
    (
        "c",
        {"include/vec.h": "struct vec { int n; };\nint vec_push(struct vec *v, int item);\n"},
        "src/main.c",
        '#include "../include/vec.h"\n\nint main(void) {\n  struct vec v;\n  vec_push(',
        "int vec_push(struct vec *v, int item);",
    ),
]


@pytest.mark.parametrize(("language", "files", "current", "text", "shown"), LANGUAGES, ids=[r[0] for r in LANGUAGES])
def test_retrieval_per_language(
    tmp_path: Path, language: str, files: dict[str, str], current: str, text: str, shown: str
) -> None:
    for name, content in {**files, current: text}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    index = WorkspaceIndex()
    try:
        index.set_folders([tmp_path])
        assert index.wait_idle(30)
        doc = Document((tmp_path / current).as_uri(), language, 1, text)
        chunks = retrieve(index, snapshot_of(doc, len(text)))
        assert chunks, "nothing retrieved"
        assert shown in chunks[0].text.split("\n"), chunks[0]
        assert chunks[0].reason.startswith("the call being written")
    finally:
        index.close()
