"""Prompt evaluation in full batches, stopped inside llama_decode by the abort callback."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from codellama_ls.engine.base import GenerationRequest, Sampling
from tests.conftest import needs_llama

pytestmark = needs_llama

SOURCE = Path(argparse.__file__).read_text()
GREEDY = Sampling(max_tokens=12, draft_tokens=0)


class Countdown:
    """A cancel token that turns true after `limit` checks, and counts them."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.calls > self.limit


def _engine(path: Path) -> object:
    from codellama_ls.engine.llama import LlamaEngine

    # n_batch 1024 evaluates the prompt in one llama_decode of two 512-token ubatches.
    engine = LlamaEngine(path, n_ctx=2048, n_gpu_layers=0, n_batch=1024, n_threads=1)
    global PROMPT
    PROMPT = [1, *engine.tokenize(SOURCE)[:999]]  # 1,000 tokens of real code
    return engine


PROMPT: list[int] = []


def _generated(engine: object) -> list[int]:
    """The greedy tokens decoded after the prompt (a random model's often have no text)."""
    llm = engine._llm  # type: ignore[attr-defined]
    return [int(t) for t in llm.input_ids[len(PROMPT) : llm.n_tokens]]


def _checks_per_ubatch(engine: object) -> int:
    counter = Countdown(float("inf"))
    list(engine.generate(GenerationRequest(PROMPT[:512], Sampling(max_tokens=1, draft_tokens=0), counter)))  # type: ignore[attr-defined]
    return counter.calls


def test_cancel_stops_inside_the_batch_and_the_evaluated_prefix_is_reused(random_gguf: Path) -> None:
    engine = _engine(random_gguf)
    fresh = _engine(random_gguf)
    try:
        per_ubatch = _checks_per_ubatch(engine)
        assert per_ubatch > 20  # the callback runs per graph node, not per batch
        engine._switch_document("other")  # type: ignore[attr-defined]  # an empty KV cache
        # Cancel half-way through the second ubatch of the one llama_decode.
        cancel = Countdown(per_ubatch * 1.5)
        assert list(engine.generate(GenerationRequest(PROMPT, GREEDY, cancel))) == []  # type: ignore[attr-defined]
        stats = engine.last_stats  # type: ignore[attr-defined]
        assert stats.stop_reason == "cancelled"
        assert cancel.calls < per_ubatch * 2  # stopped inside the ubatch, not after it
        assert stats.evaluated_tokens == 512  # the finished ubatch is kept, the aborted one dropped

        list(engine.generate(GenerationRequest(PROMPT, GREEDY, lambda: False)))  # type: ignore[attr-defined]
        assert engine.last_stats.reused_tokens == 512  # type: ignore[attr-defined]
        assert engine.last_stats.evaluated_tokens == len(PROMPT) - 512  # type: ignore[attr-defined]
        list(fresh.generate(GenerationRequest(PROMPT, GREEDY, lambda: False)))  # type: ignore[attr-defined]
        resumed, expected = _generated(engine), _generated(fresh)
        assert resumed == expected and len(resumed) == GREEDY.max_tokens - 1
    finally:
        engine.close()  # type: ignore[attr-defined]
        fresh.close()  # type: ignore[attr-defined]


def test_cancel_before_any_ubatch_finishes_keeps_the_reused_prefix(random_gguf: Path) -> None:
    engine = _engine(random_gguf)
    try:
        list(engine.generate(GenerationRequest(PROMPT[:300], GREEDY, lambda: False)))  # type: ignore[attr-defined]
        cancel = Countdown(3)
        list(engine.generate(GenerationRequest(PROMPT, GREEDY, cancel)))  # type: ignore[attr-defined]
        assert engine.last_stats.reused_tokens == 300  # type: ignore[attr-defined]
        assert engine.last_stats.evaluated_tokens == 0  # type: ignore[attr-defined]
        list(engine.generate(GenerationRequest(PROMPT, GREEDY, lambda: False)))  # type: ignore[attr-defined]
        assert engine.last_stats.reused_tokens == 300  # type: ignore[attr-defined]
    finally:
        engine.close()  # type: ignore[attr-defined]


def test_the_abort_callback_is_only_installed_while_the_prompt_is_evaluated(random_gguf: Path) -> None:
    engine = _engine(random_gguf)
    try:
        prompt_checks = _checks_per_ubatch(engine)
        counter = Countdown(float("inf"))
        engine._switch_document("other")  # type: ignore[attr-defined]
        list(engine.generate(GenerationRequest(PROMPT[:512], Sampling(max_tokens=40, draft_tokens=0), counter)))  # type: ignore[attr-defined]
        generated = engine.last_stats.generated_tokens  # type: ignore[attr-defined]
        assert generated > 1
        # One check per generated token on top of the prompt's: none per graph node while generating.
        assert counter.calls <= prompt_checks + generated
    finally:
        engine.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("n_batch", [64])
def test_small_batches_still_evaluate_the_whole_prompt(random_gguf: Path, n_batch: int) -> None:
    from codellama_ls.engine.llama import LlamaEngine

    engine = LlamaEngine(random_gguf, n_ctx=2048, n_gpu_layers=0, n_batch=n_batch, n_threads=1)
    try:
        assert len(PROMPT) == 1000
        list(engine.generate(GenerationRequest(PROMPT, GREEDY, lambda: False)))
        assert engine.last_stats.evaluated_tokens == len(PROMPT)
    finally:
        engine.close()
