"""A cursor move within the window re-evaluates only what changed (real llama.cpp, generated model)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from codellama_ls.completion.pipeline import Completion, complete
from codellama_ls.completion.snapshot import Sticky, snapshot_of
from codellama_ls.documents.document import Document
from codellama_ls.engine.base import vocab_of
from codellama_ls.settings.config import Settings
from tests.conftest import needs_llama

FUNCTION = '''
def process_{i}(records, threshold={i}):
    """Keep the records above the threshold."""
    selected = []
    for record in records:
        if record > threshold:
            selected.append(record)
    return selected

'''
TEXT = "import os\n" + "".join(FUNCTION.format(i=i) for i in range(80))


def _at(line_text: str, occurrence: int) -> int:
    """The offset just after the indentation of the `occurrence`-th line containing `line_text`."""
    at = -1
    for _ in range(occurrence + 1):
        at = TEXT.index(line_text, at + 1)
    return at


def _complete(engine: object, offset: int, settings: Settings, sticky: Sticky | None) -> Completion:
    doc = Document("file:///moves.py", "python", 1, TEXT)
    return complete(engine, snapshot_of(doc, offset, sticky=sticky), settings, lambda: False)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def engine(codellama_gguf: Path) -> Iterator[object]:
    from codellama_ls.engine.llama import LlamaEngine

    # A context of 2,048 like the benchmarks: the window start keeps 1/8 of its room to move in.
    engine = LlamaEngine(codellama_gguf, n_ctx=2048, n_gpu_layers=0)
    yield engine
    engine.close()


@needs_llama
@pytest.mark.parametrize("lines", [-12, -5, 4, 12])
def test_a_move_within_the_window_evaluates_under_30_percent(engine: object, lines: int) -> None:
    settings = Settings(max_tokens=8, syntax_check=False, cross_file=False)
    start = _at("selected.append(record)", 50)
    first = _complete(engine, start, settings, None)
    assert first.plan.mode.value == "line"
    # While the user reads the suggestion, the engine evaluates the window's lines below the cursor
    # (the session does this after each answer); moving down then finds them cached.
    body = first.plan.body_tokens(vocab_of(engine))  # type: ignore[arg-type]
    engine.warm(body, "file:///moves.py", lambda: False)  # type: ignore[attr-defined]
    assert engine.warm(body, "file:///moves.py", lambda: False) == 0  # type: ignore[attr-defined]
    line = TEXT.count("\n", 0, start) + lines
    target = sum(len(text) + 1 for text in TEXT.split("\n")[:line]) + 4
    assert first.plan.window.start < target < first.plan.window.end  # a line of the same window
    moved = _complete(engine, target, settings, first.plan.sticky)
    stats = moved.stats
    assert moved.plan.window.start == first.plan.window.start
    assert stats.prompt_tokens > 1200
    assert stats.evaluated_tokens <= 0.3 * stats.prompt_tokens, stats


@needs_llama
def test_suffix_first_prompts_evaluate_everything_after_a_move(engine: object) -> None:
    # What the LINE prompt saves: the same move with SPM re-evaluates the whole prompt.
    settings = Settings(max_tokens=8, syntax_check=False, cross_file=False, fim_format="spm")
    start = _at("selected.append(record)", 50)
    first = _complete(engine, start, settings, None)
    moved = _complete(engine, _at("selected = []", 50) + 4, settings, first.plan.sticky)
    assert moved.stats.evaluated_tokens >= 0.9 * moved.stats.prompt_tokens


@needs_llama
def test_a_far_move_is_evaluated_into_an_empty_cache(engine: object, monkeypatch: pytest.MonkeyPatch) -> None:
    # The body of the old window holds cells no prompt of the new one can use; kept while the new
    # prompt is evaluated, they lengthened its attention rows and a far move took twice a fresh prompt.
    import llama_cpp

    settings = Settings(max_tokens=8, syntax_check=False, cross_file=False)
    first = _complete(engine, _at("selected.append(record)", 50), settings, None)
    engine.warm(first.plan.body_tokens(vocab_of(engine)), "file:///moves.py", lambda: False)  # type: ignore[attr-defined,arg-type]
    memory = engine._llm._ctx.memory  # type: ignore[attr-defined]
    assert llama_cpp.llama_memory_seq_pos_max(memory, 1) > 1000
    body_end: list[int] = []
    evaluate = engine._eval_prompt  # type: ignore[attr-defined]

    def spy(prompt: list[int], reuse: int, cancelled: object) -> bool:
        body_end.append(int(llama_cpp.llama_memory_seq_pos_max(memory, 1)))
        body_end.append(int(llama_cpp.llama_memory_seq_pos_max(memory, 0)))
        return evaluate(prompt, reuse, cancelled)  # type: ignore[no-any-return]

    monkeypatch.setattr(engine, "_eval_prompt", spy)
    far = _complete(engine, _at("selected.append(record)", 5), settings, first.plan.sticky)
    assert far.plan.window.start != first.plan.window.start
    assert far.stats.evaluated_tokens >= 0.9 * far.stats.prompt_tokens
    # The few tokens it shares ([BOS, PRE], the header) are not worth keeping: cells left anywhere
    # by the old window would stretch the attention as far; the prompt goes into an empty cache.
    assert far.stats.reused_tokens == 0
    assert body_end == [-1, -1], body_end


@pytest.fixture(scope="module")
def small_engine(codellama_gguf: Path) -> Iterator[object]:
    from codellama_ls.engine.llama import LlamaEngine

    engine = LlamaEngine(codellama_gguf, n_ctx=1024, n_gpu_layers=0)
    yield engine
    engine.close()


@needs_llama
@pytest.mark.parametrize("lines", [-14, -10, 6])
def test_moves_between_neighbouring_functions_are_cheap_at_a_1024_token_context(
    small_engine: object, lines: int
) -> None:
    # A quarter of the room is 8 lines here: the anchor must outlast a move to the next function up.
    settings = Settings(max_tokens=8, syntax_check=False, cross_file=False)
    start = _at("selected.append(record)", 50)
    first = _complete(small_engine, start, settings, None)
    small_engine.warm(first.plan.body_tokens(vocab_of(small_engine)), "file:///moves.py", lambda: False)  # type: ignore[attr-defined,arg-type]
    line = TEXT.count("\n", 0, start) + lines
    target = sum(len(text) + 1 for text in TEXT.split("\n")[:line]) + 4
    moved = _complete(small_engine, target, settings, first.plan.sticky)
    stats = moved.stats
    assert moved.plan.window.start == first.plan.window.start
    assert stats.evaluated_tokens <= 0.3 * stats.prompt_tokens, stats


@needs_llama
def test_after_a_move_up_a_move_down_past_the_suffix_finds_its_lines_warm(small_engine: object) -> None:
    # After a move up the suffix is short (it keeps in proportion to the lines above); the body the
    # engine warms reaches as far down as the window's start allows, not only to the suffix's end.
    settings = Settings(max_tokens=8, syntax_check=False, cross_file=False)
    start = _at("selected.append(record)", 50)
    first = _complete(small_engine, start, settings, None)
    line = TEXT.count("\n", 0, start)
    up = _complete(small_engine, _line_offset(line - 12), settings, first.plan.sticky)
    small_engine.warm(up.plan.body_tokens(vocab_of(small_engine)), "file:///moves.py", lambda: False)  # type: ignore[attr-defined,arg-type]
    target = _line_offset(TEXT.count("\n", 0, up.plan.window.end) + 12)  # beyond the suffix of the prompt before
    down = _complete(small_engine, target, settings, up.plan.sticky)
    assert down.plan.window.start == first.plan.window.start
    assert down.stats.evaluated_tokens <= 0.3 * down.stats.prompt_tokens, (down.stats, up.stats)


def _line_offset(line: int) -> int:
    return sum(len(text) + 1 for text in TEXT.split("\n")[:line]) + 4


def _complete_in(engine: object, text: str, offset: int, settings: Settings, sticky: Sticky | None) -> Completion:
    doc = Document("file:///moves.py", "python", 1, text)
    return complete(engine, snapshot_of(doc, offset, sticky=sticky), settings, lambda: False)  # type: ignore[arg-type]


def _offset_in(text: str, line: int) -> int:
    return sum(len(part) + 1 for part in text.split("\n")[:line]) + 4


@needs_llama
@pytest.mark.parametrize(("n_ctx", "functions", "at"), [(4096, 120, 100), (8192, 260, 220), (4096, 80, 75)])
def test_moves_within_the_window_evaluate_under_30_percent_at_every_context_size(
    codellama_gguf: Path, n_ctx: int, functions: int, at: int
) -> None:
    # No warming between requests: with a real-size model on a CPU the body is rarely warm when the
    # user moves. The last row's file is shorter than the context: moving up, the whole top of the
    # file would fit, and the window must keep its start rather than jump to the file's.
    from codellama_ls.engine.llama import LlamaEngine

    text = "import os\n" + "".join(FUNCTION.format(i=i) for i in range(functions))
    engine = LlamaEngine(codellama_gguf, n_ctx=n_ctx, n_gpu_layers=0)
    try:
        settings = Settings(max_tokens=8, syntax_check=False, cross_file=False)
        line = text[: text.index(f"def process_{at}(")].count("\n") + 6
        first = _complete_in(engine, text, _offset_in(text, line), settings, None)
        # A cold prompt costs the same at every context size (the window grows as the user moves down).
        assert first.plan.window.start > 0 and 1200 < first.stats.prompt_tokens <= 1800
        sticky = first.plan.sticky
        for lines in (3, 7, -5, 12, -40, 30):
            line += lines
            moved = _complete_in(engine, text, _offset_in(text, line), settings, sticky)
            sticky = moved.plan.sticky
            assert moved.plan.window.start == first.plan.window.start, lines
            assert moved.stats.evaluated_tokens <= 0.3 * moved.stats.prompt_tokens, (lines, moved.stats)
    finally:
        engine.close()


def test_a_prompt_whose_cross_file_chunks_change_is_cut_as_a_fresh_window() -> None:
    # Another file opened gives the document new chunks: they change the prompt's first tokens, so the
    # whole prompt is evaluated again, and it costs no more than a file opened does, whatever the
    # window had grown to (a file switch at n_ctx 4,096 evaluated a 3,000-token prompt).
    from codellama_ls.completion.crossfile import OtherDocument
    from codellama_ls.completion.pipeline import _FRESH_WINDOW, plan
    from codellama_ls.engine.scripted import ScriptedEngine

    vocab = vocab_of(ScriptedEngine(n_ctx=4096))
    text = "import os\n" + "".join(FUNCTION.format(i=i) for i in range(120))
    doc = Document("file:///moves.py", "python", 1, text)
    settings = Settings(max_tokens=16)
    offset = _offset_in(text, text[: text.index("def process_100(")].count("\n") + 6)
    grown = plan(vocab, 4096, snapshot_of(doc, offset), settings)
    # The window grew from its start while the user worked down the file.
    below = _offset_in(text, text[: text.index("def process_104(")].count("\n") + 6)
    grown = plan(vocab, 4096, snapshot_of(doc, below, sticky=grown.sticky), settings)
    assert len(grown.tokens) > _FRESH_WINDOW + 600
    other = OtherDocument("file:///helpers.py", "def selected_records(records, threshold):\n    return records\n")
    switched = plan(vocab, 4096, snapshot_of(doc, below, others=[other], sticky=grown.sticky), settings)
    assert switched.sticky is not None and switched.sticky.cross
    assert len(switched.tokens) <= _FRESH_WINDOW + 16
    # The next keystroke keeps those chunks and that start.
    again = plan(vocab, 4096, snapshot_of(doc, below + 1, others=[other], sticky=switched.sticky), settings)
    assert again.window.start == switched.window.start and again.sticky is not None
    assert again.sticky.cross == switched.sticky.cross
