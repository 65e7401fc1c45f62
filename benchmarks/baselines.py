"""The systems a benchmark hole is completed by: the server's pipeline (`complete`, as the editor
gets it) and two baselines on the same llama.cpp context, the prefix alone and the prefix with naive
token healing. Used by quality_bench.py (holes cut from real files) and humaneval_infilling.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.holes import EXTENSIONS, Hole
from codellama_ls.completion.pipeline import complete
from codellama_ls.completion.snapshot import snapshot_of
from codellama_ls.documents.document import Document
from codellama_ls.engine.llama import LlamaEngine
from codellama_ls.settings.config import Settings

BLOCK_LINES = 8


class Runner:
    def __init__(
        self, model: Path, n_ctx: int, max_tokens: int, gpu_layers: int, overrides: dict[str, Any] | None = None
    ) -> None:
        # No saved KV states: every hole is a new document.
        self.engine = LlamaEngine(model, n_ctx=n_ctx, n_gpu_layers=gpu_layers, state_cache_mb=0)
        self.llm: Any = self.engine._llm  # the same llama.cpp context for the baselines
        # One row per decode step, as the baselines' `create_completion` decodes: speculative decoding
        # (the default `draft_tokens`) is the same up to rounding (benchmarks/README.md, "Identical output").
        self.settings = Settings(**{"max_tokens": max_tokens, "draft_tokens": 0, **(overrides or {})})
        self.max_tokens = max_tokens
        self.n_ctx = n_ctx
        self._pieces: list[str] | None = None
        self._allowed: dict[str, np.ndarray] = {}
        self._documents = 0
        self.raw = ""
        """What the model wrote for the server's last hole, before the clean-up and the syntax gate."""

    def server(self, hole: Hole) -> str:
        # A new document key each time: the engine starts from an empty KV cache (no saved states).
        self._documents += 1
        uri = f"file:///bench/hole{self._documents}{EXTENSIONS.get(hole.language, '.txt')}"
        doc = Document(uri, hole.language, 1, hole.text)
        self.raw = ""

        def seen(text: str) -> None:
            self.raw = text

        return complete(self.engine, snapshot_of(doc, hole.offset), self.settings, lambda: False, seen).text

    @staticmethod
    def _prefix(hole: Hole) -> str:
        return hole.text[: hole.offset]

    def _prompt(self, prefix: str) -> list[int]:
        budget = self.n_ctx - self.max_tokens - 2
        tokens = self.engine.tokenize(prefix[-8 * budget :])[-budget:]
        bos = self.engine.info.bos
        return ([bos] if bos is not None else []) + tokens

    def _generate(self, prompt: list[int], multiline: bool, constraint: str = "") -> str:
        processors = None
        if constraint:
            allowed = self._allowed_for(constraint)
            start = len(prompt)

            def first_token_only(input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
                if len(input_ids) != start:
                    return scores
                masked = np.full_like(scores, -np.inf)
                masked[allowed] = scores[allowed]
                return masked

            from llama_cpp import LogitsProcessorList

            processors = LogitsProcessorList([first_token_only])
        self.llm.reset()  # an empty KV cache, as the server's prompt had
        out = self.llm.create_completion(
            prompt,
            max_tokens=self.max_tokens,
            temperature=0.0,
            repeat_penalty=1.0,
            stop=["\n\n"] if multiline else ["\n"],
            logits_processor=processors,
        )
        text: str = out["choices"][0]["text"]
        if constraint:
            text = text[len(constraint) :] if text.startswith(constraint) else ""
        return "\n".join(text.split("\n")[:BLOCK_LINES]) if multiline else text

    def _allowed_for(self, constraint: str) -> np.ndarray:
        if self._pieces is None:
            self._pieces = [self.engine.piece(t) for t in range(self.engine.info.n_vocab)]
        allowed = self._allowed.get(constraint)
        if allowed is None:
            ids = [t for t, p in enumerate(self._pieces) if p and p.startswith(constraint)]
            allowed = self._allowed[constraint] = np.array(ids, dtype=np.int64)
        return allowed

    def naive(self, hole: Hole) -> str:
        return self._generate(self._prompt(self._prefix(hole)), hole.multiline)

    def naive_healing(self, hole: Hole) -> str:
        prefix = self._prefix(hole)
        if prefix.endswith(" "):
            return self._generate(self._prompt(prefix[:-1]), hole.multiline, " ")
        if prefix and (prefix[-1].isalnum() or prefix[-1] == "_"):
            prompt = self._prompt(prefix)
            last = self.engine.piece(prompt[-1])
            if len(prompt) > 1 and last and prefix.endswith(last.lstrip(" ")):
                return self._generate(prompt[:-1], hole.multiline, last)
        return self.naive(hole)
