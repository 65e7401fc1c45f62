"""One next-edit prediction on the engine thread: prompt, generation, answer back to edits.

Called through `EngineWorker.run` like `completion.pipeline.complete`, with the same engine and
the same `GenerationRequest` contract; the cancel check is read before every decode step.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

from codellama_ls.actions.pipeline import chat_vocab_of, instruct_style
from codellama_ls.engine.base import Cancelled, Engine, GenerationRequest, Sampling, vocab_of
from codellama_ls.nextedit.diff import RegionEdit, apply_edits, undoes
from codellama_ls.nextedit.history import Hunk
from codellama_ls.nextedit.prompt import (
    NextEditError,
    NextEditFormat,
    NextEditVocab,
    answer_complete,
    choose_format,
    edits_from_answer,
    formats_for,
    next_edit_prompt,
)
from codellama_ls.nextedit.region import Region

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NextEditRequest:
    """Everything one prediction reads, taken on the loop (the document may change meanwhile)."""

    uri: str
    path: str
    text: str
    cursor: int
    region: Region
    history: tuple[Hunk, ...]
    format_setting: str = "auto"
    language: str = ""
    line_comment: str | None = "#"
    key: str = ""
    """The engine's KV cache slot."""
    draft_tokens: int = 0
    """Prompt-lookup drafting (`draftTokens`): a rewrite copies most of its region, which drafts well."""


@dataclass(frozen=True)
class Prediction:
    edits: tuple[RegionEdit, ...] = ()
    """Offsets into the request's text."""
    format: NextEditFormat | None = None
    answer: str = ""
    dropped: str = ""
    """Why the model's answer became no edit (empty when edits were found, or nothing was asked)."""
    error: str = ""
    """A problem the user must fix (a format the model cannot take)."""
    prompt_tokens: int = 0
    generated_tokens: int = 0
    total_ms: float = 0.0
    stats: dict[str, float] = field(default_factory=dict)


def next_edit_vocab(engine: Engine) -> NextEditVocab:
    info = engine.info
    style = instruct_style(info)
    return NextEditVocab(
        vocab=vocab_of(engine),
        chat=chat_vocab_of(engine) if style is not None else None,
        chat_style=style,
        chat_template=info.chat_template,
    )


def predict(engine: Engine, request: NextEditRequest, cancelled: Cancelled) -> Prediction:
    started = time.perf_counter()
    vocab = next_edit_vocab(engine)
    fmt = choose_format(request.format_setting, vocab)
    if fmt is None:
        possible = ", ".join(f.value for f in formats_for(vocab))
        if not possible:
            return Prediction(
                error=f"next edit: {engine.info.name} has neither fill-in-the-middle tokens nor a chat format,"
                " so it cannot predict edits"
            )
        return Prediction(
            error=f"next edit: {engine.info.name} cannot take the `{request.format_setting}` format; it can take"
            f" {possible}"
        )
    if cancelled():
        return Prediction(format=fmt, dropped="cancelled")
    try:
        prompt = next_edit_prompt(
            request.history,
            request.text,
            request.cursor,
            vocab,
            fmt,
            path=request.path,
            region=request.region,
            language=request.language,
            line_comment=request.line_comment,
            n_ctx=engine.info.n_ctx,
        )
    except NextEditError as exc:
        return Prediction(format=fmt, error=f"next edit: {exc}")
    most_lines = 2 * (prompt.region.end_line - prompt.region.start_line) + 4
    answer = ""
    pieces = engine.generate(
        GenerationRequest(
            prompt.tokens,
            Sampling(max_tokens=prompt.max_tokens, draft_tokens=request.draft_tokens),
            cancelled,
            key=request.key,
        )
    )
    try:
        for piece in pieces:
            answer += piece
            if answer.count("\n") > most_lines:
                break  # the model ran on past any rewrite of the region
            if answer_complete(answer, fmt):
                break
    finally:
        pieces.close()
    stats = pieces.stats
    base = Prediction(
        format=fmt,
        answer=answer,
        prompt_tokens=len(prompt.tokens),
        generated_tokens=stats.generated_tokens,
        total_ms=round((time.perf_counter() - started) * 1000, 2),
    )
    if cancelled():
        return _with(base, dropped="cancelled")
    if answer.count("\n") > most_lines:
        return _with(base, dropped="the answer ran past the region")
    local = edits_from_answer(prompt.old_region, answer, fmt)
    if not local:
        return _with(base, dropped="the model changed nothing")
    if _undoes_last(request, prompt.region, prompt.old_region, local):
        return _with(base, dropped="the prediction undoes the last edit")
    start = prompt.region.start
    return _with(base, edits=tuple(RegionEdit(e.start + start, e.end + start, e.text) for e in local))


def _undoes_last(request: NextEditRequest, region: Region, old_region: str, edits: list[RegionEdit]) -> bool:
    """Whether the edits (of the region) take back the file's last hunk; only the region is compared,
    so the work is the region's, not the file's."""
    last = next((h for h in reversed(request.history) if h.uri == request.uri), None)
    if last is None or not region.start_line <= last.start < region.end_line:
        return False
    shifted = dataclasses.replace(last, start=last.start - region.start_line)
    return undoes(shifted, old_region, apply_edits(old_region, edits))


def _with(prediction: Prediction, **changes: object) -> Prediction:
    return dataclasses.replace(prediction, **changes)  # type: ignore[arg-type]
