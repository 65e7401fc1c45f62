"""The next-edit benchmark's predictor: a case's situation asked of the server's own prediction
(`codellama_ls.nextedit.pipeline.predict`, with the request built as the server builds it), so the
benchmark measures the server's prompt, region, answer parsing and drop rules, not a copy of them."""

from __future__ import annotations

import itertools
from pathlib import Path

from benchmarks.nextedit_bench import Prediction
from benchmarks.nextedit_cases import Edit, Situation
from codellama_ls.documents.document import Document
from codellama_ls.engine.base import Engine, never
from codellama_ls.nextedit.history import EditHistory, EditKind, Hunk
from codellama_ls.nextedit.pipeline import NextEditRequest, next_edit_vocab, predict
from codellama_ls.nextedit.prompt import choose_format
from codellama_ls.nextedit.requests import request_for
from codellama_ls.settings.config import Settings

_LANGUAGE_IDS = {"python": "python", "javascript": "javascript", "typescript": "typescript", "tsx": "typescriptreact"}


class ModelPredictor:
    """Asks one engine for each situation's next edit, with or without the edits that led to it."""

    def __init__(
        self, engine: Engine, *, format_setting: str = "auto", region_lines: int = 0, history: int = -1
    ) -> None:
        defaults = Settings()
        self.engine = engine
        self.format_setting = format_setting
        self.region_lines = region_lines or defaults.next_edit_region_lines
        self.history = defaults.next_edit_history if history < 0 else history

    @classmethod
    def load(
        cls, model: Path, *, n_ctx: int, format_setting: str = "auto", region_lines: int = 0, history: int = -1
    ) -> ModelPredictor:
        from codellama_ls.engine.llama import LlamaEngine

        engine = LlamaEngine(model, n_ctx=n_ctx, n_gpu_layers=-1, state_cache_mb=0)
        return cls(engine, format_setting=format_setting, region_lines=region_lines, history=history)

    def describe(self) -> str:
        fmt = choose_format(self.format_setting, next_edit_vocab(self.engine))
        chosen = fmt.value if fmt is not None else f"none for {self.format_setting}"
        return (
            f"{chosen} format, n_ctx {self.engine.info.n_ctx}, region {self.region_lines} lines, "
            f"history up to {self.history} hunks"
        )

    def request(self, s: Situation, with_history: bool) -> NextEditRequest:
        """The request the server would build for this document, cursor and history (`requests.py`)."""
        uri = f"file:///workspace/{s.case.path}"
        doc = Document(uri, _LANGUAGE_IDS.get(s.case.language, s.case.language), 1, s.text)
        cursor = s.cursor_offset
        hunks: list[Hunk] = []
        if with_history and self.history:
            # Each hunk of the commit as one didChange, recorded as the server records it; far apart in
            # time, so none is coalesced into the one before.
            history = EditHistory(max_hunks=self.history)
            versions = s.versions()
            for step, (before, after) in enumerate(itertools.pairwise(versions)):
                history.record(uri, s.case.path, before, after, at=60.0 * step, kind=EditKind.TYPED)
            hunks = history.hunks()[-self.history :]
        # The server's defaults but for what the benchmark sets.
        settings = Settings(next_edit_format=self.format_setting, next_edit_region_lines=self.region_lines)  # type: ignore[arg-type]
        return request_for(doc, cursor, s.case.path, hunks, settings)

    def predict(self, s: Situation, with_history: bool) -> Prediction:
        request = self.request(s, with_history)
        result = predict(self.engine, request, never)
        return Prediction(
            edits=tuple(Edit(e.start, e.end, e.text) for e in result.edits),
            ms=result.total_ms,
            region=(request.region.start_line, request.region.end_line),
            prompt_tokens=result.prompt_tokens,
            generated_tokens=result.generated_tokens,
            answer=result.answer,
            error=result.error,
            dropped=result.dropped,
        )

    def close(self) -> None:
        self.engine.close()
