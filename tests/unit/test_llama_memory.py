"""Requests on the llama.cpp engine leave nothing native behind (real llama.cpp, generated model).

The soak benchmark measures a day's worth over stdio; these check the cause it found, in process.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Any

import pytest

from codellama_ls.engine.base import GenerationRequest, Sampling
from tests.conftest import needs_llama

HEAD = "def step(values, limit=0):\n    total = 0\n    for value in values:\n" * 8


def _request(engine: Any, number: int) -> None:
    """One generation shaped like a completion request: a FIM prompt that changes a little each time,
    greedy or sampled, with or without token healing's constrained first token."""
    info = engine.info
    typed = engine.tokenize("x") if number % 2 else []
    prompt = [info.bos, info.fim.prefix, *engine.tokenize(HEAD), *typed, info.fim.suffix, info.fim.middle]
    sampling = Sampling(max_tokens=4, temperature=0.7 if number % 3 == 0 else 0.0)
    for _ in engine.generate(
        GenerationRequest(prompt, sampling, lambda: False, "to" if number % 4 == 1 else "", "file:///a.py")
    ):
        pass


def _live_sampler_chains() -> int:
    from llama_cpp import _internals

    return sum(1 for o in gc.get_objects() if isinstance(o, _internals.LlamaSampler) and o.sampler is not None)


@needs_llama
def test_no_sampler_chain_outlives_its_request(llama_engine: Any) -> None:
    # Each chain holds an n_vocab-sized buffer; llama-cpp-python's LlamaSampler is in a reference
    # cycle, so a chain not freed by us waits for the cyclic collector (disabled here to see it).
    gc.collect()
    gc.disable()
    try:
        for number in range(12):
            _request(llama_engine, number)
        assert _live_sampler_chains() == 0
    finally:
        gc.enable()


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@needs_llama
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads RSS from Linux's /proc")
def test_rss_stays_flat_over_many_requests(llama_engine: Any) -> None:
    # Before the fix the heap grew ~6 KiB per request of these (fragmented by those late frees):
    # 3.7 MiB over these 600, against 44 KiB after. Memory, not time: load does not change it.
    for number in range(100):
        _request(llama_engine, number)
    gc.collect()
    before = _rss_kib()
    for number in range(600):
        _request(llama_engine, number)
    gc.collect()
    assert _rss_kib() - before < 1024
