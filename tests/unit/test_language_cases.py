"""Table-driven completion cases per language, through the whole pipeline with a scripted engine."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import tests.cases
from codellama_ls.completion.pipeline import complete
from codellama_ls.completion.snapshot import snapshot_of
from codellama_ls.documents.document import Document
from codellama_ls.documents.languages import language_for
from codellama_ls.engine.scripted import ScriptedEngine
from codellama_ls.settings.config import Settings
from tests.cases import Case
from tests.support.cursor import split_cursor


def _load() -> list[tuple[str, Case]]:
    found = []
    for module_info in pkgutil.iter_modules(tests.cases.__path__):
        module = importlib.import_module(f"tests.cases.{module_info.name}")
        found += [(module.LANGUAGE, case) for case in module.CASES]
    return found


ALL = _load()


def run_case(language: str, case: Case) -> tuple[str, int]:
    text, index = split_cursor(case.source)
    spec = language_for(language)
    assert spec is not None, language
    doc = Document(f"file:///case/example{spec.extensions[0]}", language, 1, text)
    snapshot = snapshot_of(doc, index, invoked=case.invoked)
    result = complete(ScriptedEngine(case.raw), snapshot, Settings(), lambda: False)
    return result.text, result.replace_after


@pytest.mark.parametrize(
    "language,case", ALL, ids=[f"{language}: {case.id or case.source[:20]}" for language, case in ALL]
)
def test_case(language: str, case: Case) -> None:
    text, replace = run_case(language, case)
    assert (text, replace if text else 0) == (case.expected, case.replace)


def test_enough_cases_per_language() -> None:
    counts: dict[str, int] = {}
    for language, _ in ALL:
        counts[language] = counts.get(language, 0) + 1
    for language in ("python", "javascript", "typescript", "go", "rust", "c", "cpp", "java"):
        assert counts.get(language, 0) >= 8, language
    for language in ("lua", "shellscript", "ruby", "php", "csharp"):
        assert counts.get(language, 0) >= 3, language


def test_time_budget_ends_a_block_at_a_line_boundary() -> None:
    engine = ScriptedEngine("a = 1\n    b = 2\n    c = 3\n    d = 4", token_delay_s=0.05, chunk=4)
    doc = Document("file:///case/slow.py", "python", 1, "def f():\n    \n")
    settings = Settings(max_latency_ms=200, syntax_check=False)
    result = complete(engine, snapshot_of(doc, 13), settings, lambda: False)
    assert result.text.startswith("a = 1")
    assert not result.text.endswith(("=", " "))  # never a cut in the middle of a line
    assert result.text.count("\n") < 3
