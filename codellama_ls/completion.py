"""One completion, from a document snapshot to the suggestion text.

`plan` is pure given a tokenizer; `complete` drives an engine and must run on
the engine worker thread.  Both are shared by the LSP server and the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from codellama_ls.config import Settings
from codellama_ls.context import Window, cut_window
from codellama_ls.engine.base import Cancelled, Engine, GenerationStats, Sampling, vocab_of
from codellama_ls.postprocess import Stopper, Unit, clean, completion_unit, indentation
from codellama_ls.prompt import PromptMode, Vocab, build_prompt, choose_mode

# BOS and the three FIM tokens, with room to spare.
_PROMPT_OVERHEAD = 8


@dataclass(frozen=True)
class Snapshot:
    """The immutable input of one request, taken on the event loop."""

    text: str
    offset: int
    language_id: str = ""


@dataclass(frozen=True)
class Plan:
    tokens: list[int]
    mode: PromptMode
    window: Window
    unit: Unit
    line_before: str
    line_after: str
    next_line: str


@dataclass(frozen=True)
class Completion:
    text: str
    plan: Plan
    stats: GenerationStats


def _line_around(text: str, offset: int) -> tuple[str, str]:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    end = len(text) if end < 0 else end
    return text[start:offset], text[offset:end].rstrip("\r")


def _next_nonblank_line(text: str, offset: int) -> str:
    position = text.find("\n", offset)
    while position >= 0:
        end = text.find("\n", position + 1)
        line = text[position + 1 : end if end >= 0 else len(text)]
        if line.strip():
            return line.rstrip("\r")
        if end < 0:
            break
        position = end
    return ""


def plan(vocab: Vocab, n_ctx: int, snapshot: Snapshot, settings: Settings) -> Plan:
    text, offset = snapshot.text, snapshot.offset
    mode = choose_mode(settings.fim_format, vocab)
    budget = max(n_ctx - settings.max_tokens - _PROMPT_OVERHEAD, 16)
    share = settings.suffix_share if mode is not PromptMode.PREFIX_ONLY else 0.0
    window = cut_window(text, offset, budget, lambda s: len(vocab.encode(s)), share)
    tokens = build_prompt(vocab, window.prefix, window.suffix, mode)
    if len(tokens) > budget + _PROMPT_OVERHEAD:
        # Per-line counts can undercount merges across lines: trim the far prefix by the excess.
        excess = len(tokens) - budget - _PROMPT_OVERHEAD
        window = cut_window(text, offset, budget - 2 * excess, lambda s: len(vocab.encode(s)), share)
        tokens = build_prompt(vocab, window.prefix, window.suffix, mode)
    line_before, line_after = _line_around(text, offset)
    return Plan(
        tokens=tokens,
        mode=mode,
        window=window,
        unit=completion_unit(line_before, line_after),
        line_before=line_before,
        line_after=line_after,
        next_line=_next_nonblank_line(text, offset),
    )


def sampling_of(settings: Settings) -> Sampling:
    return Sampling(
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        top_k=settings.top_k,
        top_p=settings.top_p,
    )


def complete(
    engine: Engine,
    snapshot: Snapshot,
    settings: Settings,
    cancelled: Cancelled,
    on_text: Callable[[str], None] | None = None,
) -> Completion:
    """Generate until the completion unit is done; `on_text` sees the growing suggestion."""
    the_plan = plan(vocab_of(engine), engine.info.n_ctx, snapshot, settings)
    stopper = Stopper(
        unit=the_plan.unit,
        base_indent=indentation(the_plan.line_before),
        max_lines=settings.max_lines,
        next_line=the_plan.next_line,
    )
    pieces = engine.generate(the_plan.tokens, sampling_of(settings), cancelled)
    try:
        for piece in pieces:
            done = stopper.feed(piece)
            if on_text is not None:
                on_text(stopper.text)
            if done:
                break
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()
    raw = stopper.finish()
    text = clean(raw, the_plan.unit, the_plan.line_after, indentation(the_plan.line_before))
    return Completion(text=text, plan=the_plan, stats=engine.last_stats)
