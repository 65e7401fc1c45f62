"""`stop_reason` names the rule that ended generation, through the whole pipeline (scripted engine)."""

from __future__ import annotations

import pytest

from codellama_ls.completion.pipeline import Snapshot, complete
from codellama_ls.engine.scripted import ScriptedEngine
from codellama_ls.settings.config import Settings
from tests.support.cursor import split_cursor


def reason_of(source: str, raw: str, settings: Settings, engine: ScriptedEngine | None = None) -> str:
    snapshot = Snapshot(*split_cursor(source))
    result = complete(engine or ScriptedEngine(raw), snapshot, settings, lambda: False)
    return result.stats.stop_reason


BLOCK = "def f(xs):\n    █\n"


@pytest.mark.parametrize(
    "source,raw,settings,reason",
    [
        # Before the fix a line that stopped at its newline said "max_tokens".
        ("x = █\n", "compute(1)\ny = 2\n", Settings(), "end_of_line"),
        (BLOCK, "total = 0\n    for x in xs:\n        total += x\nprint(f([]))\n", Settings(), "dedent"),
        (BLOCK, "total = 0\n\n\n    return total\n", Settings(), "blank_lines"),
        (
            "def f(xs):\n    █\n    return total\n",
            "total = sum(xs)\n    return total\n",
            Settings(),
            "repeats_following_code",
        ),
        (BLOCK, "a = 1\n    b = 2\n    c = 3\n    d = 4\n", Settings(max_lines=2), "max_lines"),
        ("x = █\n", "compute(1)", Settings(), "eot"),
        ("x = █\n", "root.glob" + ".glob" * 30, Settings(max_tokens=400), "repetition_loop"),
        ("x = █\n", "compute(1, 2, 3)", Settings(max_tokens=4), "max_tokens"),
    ],
)
def test_stop_reason_names_the_rule(source: str, raw: str, settings: Settings, reason: str) -> None:
    assert reason_of(source, raw, settings) == reason


def test_latency_budget() -> None:
    engine = ScriptedEngine("a = 1\n    b = 2\n    c = 3\n" * 10, token_delay_s=0.01)
    assert reason_of(BLOCK, "", Settings(max_latency_ms=50, max_lines=100), engine) == "latency_budget"


def test_cancelled() -> None:
    calls = iter(range(1000))

    def cancelled() -> bool:
        return next(calls) > 3  # cancelled while generating

    source = "x = █\n"
    snapshot = Snapshot(*split_cursor(source))
    result = complete(ScriptedEngine("compute(1, 2, 3)"), snapshot, Settings(), cancelled)
    assert result.stats.stop_reason == "cancelled"


@pytest.mark.parametrize(
    "language,source,raw,expected",
    [
        # Cut at the loop; closing the string the line leaves open makes valid code: kept.
        ("python", 'url = "http://x/█\n', "v1.0.ws/" * 20, "v1.0.ws/"),
        ("javascript", "const p = `${ro█\n", "ot}.glob" + ".glob" * 20, "ot}.glob"),
        ("python", "x = f(a█\n", ".glob" * 20, ".glob"),
        # Ended by the model with the string open: not cut at a loop, the gate drops it as before.
        ("python", 'url = "http://x/█\n', "v1.0.ws/", ""),
        # Cut at a loop, but the line is broken whatever closes it: dropped.
        ("python", "x = █\n", "a b c d" + " e.f" * 20, ""),
    ],
)
def test_a_line_cut_at_a_loop_passes_the_gate_when_closing_it_is_valid(
    language: str, source: str, raw: str, expected: str
) -> None:
    from codellama_ls.completion.snapshot import snapshot_of
    from codellama_ls.documents.document import Document

    text, index = split_cursor(source)
    doc = Document(f"file:///w/t.{'py' if language == 'python' else 'js'}", language, 1, text)
    settings = Settings(max_tokens=400)
    result = complete(ScriptedEngine(raw), snapshot_of(doc, index), settings, lambda: False)
    assert result.text == expected
