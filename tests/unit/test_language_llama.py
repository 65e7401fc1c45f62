"""One case per language through real llama.cpp with a generated Code Llama-vocabulary GGUF."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from codellama_ls.completion.pipeline import complete
from codellama_ls.completion.snapshot import snapshot_of
from codellama_ls.documents.document import Document
from codellama_ls.documents.languages import language_for
from codellama_ls.settings.config import Settings
from tests.conftest import HAVE_LLAMA
from tests.support.cursor import split_cursor

pytestmark = pytest.mark.skipif(not HAVE_LLAMA, reason="llama-cpp-python is not installed")

# language id, source with the cursor, whether statements end with ";", expected suggestion
CASES = [
    ("python", "def f(x):\n    █\n", False, "return x"),
    ("javascript", "function f(x) {\n  █\n}\n", True, "return x;"),
    ("typescript", "function f(x: number): number {\n  █\n}\n", True, "return x;"),
    ("typescriptreact", "function F(x: number) {\n  █\n}\n", True, "return x;"),
    ("go", "package main\n\nfunc f(x int) int {\n\t█\n}\n", False, "return x"),
    ("rust", "fn f(x: i32) -> i32 {\n    █\n}\n", True, "return x;"),
    ("c", "int f(int x) {\n    █\n}\n", True, "return x;"),
    ("cpp", "int f(int x) {\n    █\n}\n", True, "return x;"),
    ("java", "class A {\n    int f(int x) {\n        █\n    }\n}\n", True, "return x;"),
    ("lua", "local function f(x)\n  █\nend\n", False, "return x"),
    ("shellscript", "f() {\n  █\n}\n", False, "return x"),
    ("ruby", "def f(x)\n  █\nend\n", False, "return x"),
    ("php", "<?php\nfunction f($x) {\n    █\n}\n", True, "return x;"),
    ("csharp", "class A {\n    int F(int x) {\n        █\n    }\n}\n", True, "return x;"),
]


@pytest.fixture(scope="module")
def engines(models_dir: Path) -> Iterator[dict[bool, object]]:
    from codellama_ls.engine.llama import LlamaEngine
    from tests.support.gguf_models import write_codellama_gguf

    plain = write_codellama_gguf(models_dir / "return-x.gguf")
    semicolon = write_codellama_gguf(
        models_dir / "return-x-semicolon.gguf", transitions={"▁return": "▁x", "▁x": ";", ";": "▁<EOT>"}
    )
    loaded = {False: LlamaEngine(plain, n_ctx=1024), True: LlamaEngine(semicolon, n_ctx=1024)}
    yield loaded
    for engine in loaded.values():
        engine.close()


@pytest.mark.parametrize("language,source,semicolon,expected", CASES, ids=[c[0] for c in CASES])
def test_block_completion_through_llama(
    engines: dict[bool, object], language: str, source: str, semicolon: bool, expected: str
) -> None:
    text, index = split_cursor(source)
    spec = language_for(language)
    assert spec is not None
    doc = Document(f"file:///case/f{spec.extensions[0]}", language, 1, text)
    result = complete(engines[semicolon], snapshot_of(doc, index), Settings(), lambda: False)  # type: ignore[arg-type]
    assert result.text == expected
    assert result.plan.mode.value == "line"


def test_token_healing_inside_a_word(engines: dict[bool, object]) -> None:
    # "    ret" ends inside a word: the prompt stops before " ret", and the first token must
    # re-spell it; the crafted model answers " return x", of which "urn x" is new.
    text = "def f(x):\n    ret\n"
    doc = Document("file:///case/heal.py", "python", 1, text)
    result = complete(engines[False], snapshot_of(doc, text.index("ret") + 3), Settings(), lambda: False)  # type: ignore[arg-type]
    assert result.plan.mode.value == "line"
    assert result.plan.constraint == " ret"
    assert result.text == "urn x"


def test_switching_documents_keeps_each_kv_cache(engines: dict[bool, object]) -> None:
    engine = engines[False]
    a = Document("file:///case/a.py", "python", 1, "def f(x):\n    \n" + "y = 1\n" * 40)
    b = Document("file:///case/b.py", "python", 1, "def g(z):\n    \n" + "w = 2\n" * 40)
    first = complete(engine, snapshot_of(a, 14), Settings(), lambda: False)  # type: ignore[arg-type]
    complete(engine, snapshot_of(b, 14), Settings(), lambda: False)  # type: ignore[arg-type]
    again = complete(engine, snapshot_of(a, 14), Settings(), lambda: False)  # type: ignore[arg-type]
    assert again.text == first.text == "return x"
    assert again.stats.reused_tokens == again.stats.prompt_tokens - 1  # only the last token re-evaluated
