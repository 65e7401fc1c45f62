"""One completion, from a snapshot to the suggestion text (runs on the engine thread).

`plan` is pure given a tokenizer: the window, the prompt tokens, the completion
unit. `complete` drives an engine through the plan and post-processes what it
writes, so it runs where the engine lives: the engine worker thread in the
server, the main thread in `codellama-ls complete`. The snapshot it starts from
is taken on the event loop (`snapshot.py`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from codellama_ls.completion.block_rules import drop_open_end
from codellama_ls.completion.crossfile import Chunk, render, select_chunks, still_open
from codellama_ls.completion.postprocess import (
    STOP_LATENCY,
    STOP_LOOP,
    Edit,
    IndentStyle,
    Stopper,
    Unit,
    clean,
    closers_for,
    completion_unit,
    detect_indent,
    indentation,
    should_trigger,
)
from codellama_ls.completion.repo_context import repository
from codellama_ls.completion.snapshot import Snapshot, Sticky, text_after
from codellama_ls.completion.syntax_gate import ErrorCheck
from codellama_ls.completion.window import Window, cut_window, reach_below
from codellama_ls.engine.base import (
    Cancelled,
    Engine,
    EngineError,
    GenerationRequest,
    GenerationStats,
    PieceStream,
    Sampling,
    TextEnd,
    vocab_of,
)
from codellama_ls.prompts.fim import (
    PromptMode,
    Repo,
    Vocab,
    build_prompt,
    choose_mode,
    encode_infilling,
    heal,
    uses_repo_layout,
)
from codellama_ls.settings.config import Settings

log = logging.getLogger(__name__)

# BOS and the three FIM tokens, with room to spare.
_PROMPT_OVERHEAD = 8
# Lines around the cursor whose identifiers pick the cross-file chunks.
_QUERY_LINES = 20
# Workspace definitions a prompt may hold beside the open documents' chunks.
_REPOSITORY_CHUNKS = 4
# Lines below the cursor that a suggestion must not repeat.
_FOLLOWING_LINES = 8
# LINE prompts in a window trimmed above: the suffix at most this part of the lines above the cursor
# line, so that a cursor move, which evaluates the suffix again, costs under 30 % of the prompt.
_LINE_SUFFIX_CAP = 0.3
# A fresh window (a file opened, a far move) takes at most this many tokens, prefix and suffix,
# whatever the context: its whole prompt is evaluated while the user waits, so it costs no more than
# llama.vim's 256 lines before and 64 after (about 2,000 tokens of Python); the window then grows,
# its start kept, as the user moves down and types, up to the whole context.
_FRESH_WINDOW = 1792
# The longest a changed cross-file block may make a keystroke's request wait (its whole prompt).
_CONTEXT_REFRESH_MS = 400
# Alternatives share the time of one suggestion (issue 20: all together at most about 1.5x one). The
# engine measures what their rows cost on this machine and spends at most this share of the first
# suggestion's own time on them (`engine/branch_budget.py`): riding along its steps, then in lockstep.
# Its branches end where their own stop rules would (`TextEnd`: a line's newline, a block's dedent).
# The deadline here, on the whole request's time, is a backstop for engines that do not measure.
_ALTERNATIVES_SHARE = GenerationRequest.alternatives_share
# Branches asked for beyond the alternatives wanted, for one that comes out the same as another once
# cleaned, or is dropped: none, since each is one more row in llama.cpp's steps (0.5-0.9 of a step's
# time for SmolLM2 on a CPU) that the time budget would take from the wanted ones.
_SPARE_BRANCHES = 0
# Characters looked at on each side of the cursor when reading lines: a minified line can be
# megabytes, and a request must cost what the window around the cursor costs, not the line.
_LINE_REACH = 4096


@dataclass(frozen=True)
class Plan:
    tokens: list[int]
    mode: PromptMode
    window: Window
    unit: Unit
    line_before: str
    line_after: str
    following: list[str] = field(default_factory=list)
    skip: str = ""
    """Why no completion is attempted (automatic trigger in a comment, ...); empty to go ahead."""
    constraint: str = ""
    """Token healing: text the user typed that the first generated token must re-spell (then dropped)."""
    sticky: Sticky | None = None
    """For the next request of this document."""
    body_rest: str = ""
    """LINE prompts: the text from the head's start to as far down as the window's start can reach
    (see `body_tokens`)."""

    def body_tokens(self, vocab: Vocab) -> list[int]:
        """The prompt up to <SUF> followed by the rest of the window: the lines every request on
        a line of this window starts with, for the engine to keep (engine thread: it tokenizes)."""
        if self.mode is not PromptMode.LINE or vocab.fim is None or vocab.fim.suffix not in self.tokens:
            return []
        lines = self.tokens[: self.tokens.index(vocab.fim.suffix)]
        return lines + (encode_infilling(vocab, self.body_rest) if lines[-1] != vocab.fim.prefix else [])


@dataclass(frozen=True)
class Completion:
    text: str
    plan: Plan
    stats: GenerationStats
    replace_after: int = 0
    """Characters right of the cursor that the suggestion replaces (auto-paired closers)."""
    plan_ms: float = 0.0
    """Planning: the window, the cross-file chunks and the prompt's tokens."""
    post_ms: float = 0.0
    """Ours while generating (stop rules) and after it (cleanup, syntax check); llama.cpp's time excluded."""
    alternatives: tuple[Edit, ...] = ()
    """The other distinct suggestions, most likely first (`text` is the most likely of all)."""


def _line_around(text: str, offset: int) -> tuple[str, str]:
    """The cursor line's text before and after the cursor, each at most `_LINE_REACH` long.

    A longer head (a minified line) has no indentation worth keeping: its cut end is stripped."""
    floor = max(offset - _LINE_REACH, 0)
    start = text.rfind("\n", floor, offset) + 1
    before = text[start:offset] if start or not floor else text[floor:offset].lstrip(" \t")
    end = text.find("\n", offset, offset + _LINE_REACH)
    end = min(len(text), offset + _LINE_REACH) if end < 0 else end
    return before, text[offset:end].rstrip("\r")


def _following_lines(text: str, offset: int, limit: int = _FOLLOWING_LINES) -> list[str]:
    """The lines below the cursor line, each at most `_LINE_REACH` long; none when the cursor
    line goes on further than that (they are too far away to be repeated)."""
    lines: list[str] = []
    newline = text.find("\n", offset, offset + _LINE_REACH)
    while newline >= 0 and len(lines) < limit:
        start = newline + 1
        newline = text.find("\n", start, start + _LINE_REACH)
        end = newline if newline >= 0 else min(len(text), start + _LINE_REACH)
        lines.append(text[start:end].rstrip("\r"))
    return lines


def _lines_above(text: str, offset: int) -> str:
    """Up to `_QUERY_LINES` whole lines above the cursor line, at most `_LINE_REACH` characters;
    empty when the cursor line alone is longer than that."""
    floor = max(offset - _LINE_REACH, 0)
    line_start = query_start = text.rfind("\n", floor, offset) + 1
    if line_start == 0 and floor:
        return ""
    floor = max(line_start - _LINE_REACH, 0)
    for _ in range(_QUERY_LINES):
        if query_start <= floor:
            break
        previous = text.rfind("\n", floor, query_start - 1) + 1
        if previous == 0 and floor:
            break  # that line reaches past the limit: left out
        query_start = previous
    return text[query_start:line_start]


def _skip_reason(snapshot: Snapshot, line_after: str) -> str:
    if snapshot.invoked:
        return ""
    if snapshot.in_comment_or_string:
        return "automatic trigger inside a comment or string"
    if not should_trigger(line_after):
        return "automatic trigger with code right of the cursor"
    return ""


# Token counts of single lines, for cutting windows: all but the line being typed repeat from
# keystroke to keystroke. Only the engine thread (or the CLI) plans, so a plain dict will do.
_line_counts: dict[tuple[object, str], int] = {}
_LINE_COUNTS_MAX = 50_000


def _counter(vocab: Vocab) -> Callable[[str], int]:
    def count(text: str) -> int:
        if len(text) > 512:
            return len(vocab.encode(text))
        key = (vocab.encode, text)
        known = _line_counts.get(key)
        if known is None:
            if len(_line_counts) >= _LINE_COUNTS_MAX:
                _line_counts.clear()
            known = _line_counts[key] = len(vocab.encode(text))
        return known

    return count


def plan(vocab: Vocab, n_ctx: int, snapshot: Snapshot, settings: Settings) -> Plan:
    text, offset = snapshot.text, snapshot.offset
    line_before, line_after = _line_around(text, offset)
    healing = settings.token_healing and vocab.healing
    mode = choose_mode(settings.fim_format, vocab, line_before, healing)
    unit = completion_unit(line_before, line_after)
    following = _following_lines(text, offset)
    skip = _skip_reason(snapshot, line_after)
    if skip:
        return Plan([], mode, Window("", "", offset, offset), unit, line_before, line_after, following, skip)

    count = _counter(vocab)
    budget = max(n_ctx - settings.max_tokens - _PROMPT_OVERHEAD, 16)
    share = settings.suffix_share if mode is not PromptMode.PREFIX_ONLY else 0.0
    sticky = snapshot.sticky
    comment = snapshot.language.line_comment if snapshot.language else None
    chunks: tuple[Chunk, ...] = ()
    window: Window | None = None
    retrieved = snapshot.repository if settings.repository_context else ()
    others = snapshot.others if settings.cross_file else ()
    wanted = tuple((c.uri, c.first_line) for c in retrieved)
    same = sticky is not None and sticky.wanted == wanted
    slow = not snapshot.refresh_context
    if sticky is not None and ((sticky.cross and same) or (slow and (sticky.cross or others or retrieved))):
        # The previous chunks stay while the window does and the workspace definitions wanted are
        # the same: a move within it, or typing within a statement, keeps the prompt's start. Where a
        # new block would cost more than a keystroke may (a model slow at prompts), the old one stays
        # however the wanted set changed, until the window is cut afresh anyway.
        kept = retrieved if same else tuple(c for c in sticky.cross if (c.uri, c.first_line) in sticky.wanted)
        if still_open(sticky.cross, others, kept):
            cross_text = render(sticky.cross, comment) if sticky.cross else ""
            window = _cut(snapshot, budget, count, share, cross_text, mode)
            if window.start == sticky.start:
                chunks, wanted = sticky.cross, sticky.wanted
            else:
                window = None
    if window is None:
        # New chunks change the prompt's first tokens: the whole prompt is evaluated again, so it is
        # cut as a fresh window (its cost bounded as a file opened is), its chunks in proportion.
        chunks = _choose_chunks(snapshot, settings, min(budget, _FRESH_WINDOW), count)
        fresh = chunks != (sticky.cross if sticky is not None else ())
        window = _cut(snapshot, budget, count, share, render(chunks, comment) if chunks else "", mode, fresh)
    cross = render(chunks, comment) if chunks else ""
    room = budget - (count(cross) if cross else 0)
    head = _head_start(text, offset, window, sticky, budget) if mode is PromptMode.LINE else None
    # Families trained on repositories get the chunks as files of one (their size is close to the
    # comments' that the window was cut for, and the excess check below trims either).
    repo = None
    if chunks and mode is not PromptMode.PREFIX_ONLY and uses_repo_layout(vocab.fim):
        repo = repository(snapshot.uri, chunks)
    tokens = _build(vocab, cross, window, mode, head, repo)
    if len(tokens) > budget + _PROMPT_OVERHEAD:
        # Per-line counts can undercount merges across lines: trim the far prefix by the excess.
        room -= 2 * (len(tokens) - budget - _PROMPT_OVERHEAD)
        window = cut_window(text, offset, room, count, share, _scopes(snapshot, mode), fresh_window=_FRESH_WINDOW)
        head = _head_start(text, offset, window, None, budget) if mode is PromptMode.LINE else None
        tokens = _build(vocab, cross, window, mode, head, repo)
    constraint = ""
    if healing:
        tokens, constraint = heal(vocab, tokens, window.prefix, mode)
    body_rest = ""
    if head is not None:
        # Every line a move down can reach while the window keeps its start, not only the suffix's.
        header = count(window.header) if window.header else 0
        body_rest = text[head : max(window.end, reach_below(text, window.start, offset, room - header, count))]
    return Plan(
        tokens,
        mode,
        window,
        unit,
        line_before,
        line_after,
        following,
        constraint=constraint,
        sticky=Sticky(window.start, head, chunks, text_after(text, offset), wanted),
        body_rest=body_rest,
    )


def context_refresh_affordable(prompt_speed: float | None) -> bool:
    """Whether the cross-file block may change under a kept window start: the prompt after it is
    then evaluated whole, so only where that costs about a keystroke's wait (a GPU), or before the
    model's prompt speed is known. Elsewhere the block changes where the window is cut afresh."""
    return prompt_speed is None or _FRESH_WINDOW / prompt_speed * 1000 <= _CONTEXT_REFRESH_MS


def _build(
    vocab: Vocab, cross: str, window: Window, mode: PromptMode, head: int | None, repo: Repo | None = None
) -> list[int]:
    if repo is not None:
        cross = ""  # the chunks are the repository's files, before the FIM prefix
    cut = None if head is None else len(cross) + len(window.header) + head - window.start
    return build_prompt(vocab, cross + window.prefix, window.suffix, mode, cut, repo)


def _choose_chunks(
    snapshot: Snapshot, settings: Settings, budget: int, count: Callable[[str], int]
) -> tuple[Chunk, ...]:
    others = snapshot.others if settings.cross_file else ()
    retrieved = snapshot.repository if settings.repository_context else ()
    if not others and not retrieved:
        return ()
    share = max(settings.cross_file_share if others else 0.0, settings.repository_context_share if retrieved else 0.0)
    most = settings.max_cross_file_chunks + (_REPOSITORY_CHUNKS if retrieved else 0)
    # The lines above the cursor line pick the chunks: unlike the line being typed, they stay
    # the same keystroke after keystroke, and so do the chunks and the KV cache behind them.
    return select_chunks(
        others, _lines_above(snapshot.text, snapshot.offset), int(budget * share), count, most, retrieved
    )


def _cut(
    snapshot: Snapshot,
    budget: int,
    count: Callable[[str], int],
    share: float,
    cross: str,
    mode: PromptMode,
    fresh: bool = False,
) -> Window:
    """The window beside `cross`; `fresh` when the prompt's beginning changes anyway (no sticky start)."""
    cross_tokens = count(cross) if cross else 0
    return cut_window(
        snapshot.text,
        snapshot.offset,
        budget - cross_tokens,
        count,
        share,
        _scopes(snapshot, mode),
        snapshot.header,
        None if fresh else snapshot.sticky_start,
        _LINE_SUFFIX_CAP if mode is PromptMode.LINE else None,
        max(_FRESH_WINDOW - cross_tokens, _FRESH_WINDOW // 2),
    )


def _scopes(snapshot: Snapshot, mode: PromptMode) -> tuple[tuple[int, int], ...]:
    """The enclosing scopes whose rest a window's suffix may hold past its share: none for a LINE
    prompt, where the suffix is what a cursor move re-evaluates, and none for a prefix-only prompt,
    which sends no suffix (its tokens would take the prefix's room)."""
    return () if mode in (PromptMode.LINE, PromptMode.PREFIX_ONLY) else snapshot.scopes


def _head_start(text: str, offset: int, window: Window, sticky: Sticky | None, budget: int) -> int:
    """Where a LINE prompt's head begins: while the user types (the text after the cursor is the
    same), the previous head, so new lines keep appending to the prompt, up to a size; after a move,
    the cursor line's start, so the lines above come from the KV cache."""
    # Not looked for beyond the window (a minified line can be megabytes).
    floor = max(window.start, offset - _LINE_REACH, 0)
    line_start = max(text.rfind("\n", floor, offset) + 1, floor)
    previous = sticky.head if sticky is not None else None
    if (
        previous is not None
        and sticky is not None
        and sticky.after == text_after(text, offset)
        and window.start <= previous <= line_start
        and (previous == 0 or text[previous - 1] == "\n")
        and offset - previous <= max(budget // 4, 80)
    ):
        return previous
    return line_start


def sampling_of(settings: Settings) -> Sampling:
    return Sampling(
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        top_k=settings.top_k,
        top_p=settings.top_p,
        draft_tokens=settings.draft_tokens,
    )


# A suggestion whose last line ends with one of these opens a block or a call the user goes on
# with (`if (x) {`, `foo(`): what it leaves open is not an error if closing it makes valid code.
_OPENERS = ("{", "(", "[")


def _adds_errors(checker: ErrorCheck, candidate: str, replace: int, cut_line: str | None = None) -> bool:
    if checker.added_errors(candidate, replace) <= 0:
        return False
    closers = closers_for(candidate) if candidate.endswith(_OPENERS) else None
    if closers and checker.added_errors(f"{candidate}\n{closers}", replace) <= 0:
        return False
    if cut_line is None:
        return True
    # A line cut at a loop is unfinished on purpose (`f(a.glob`, `"http://x/1.0.ws/`): it stands
    # when closing the strings and brackets its line leaves open makes valid code.
    closing = closers_for(cut_line, close_quote=True)
    return not closing or checker.added_errors(candidate + closing, replace) > 0


def _syntax_gate(snapshot: Snapshot, edit: Edit, line_before: str | None = None) -> Edit:
    """Cut the suggestion to the longest run of whole lines that adds no syntax error; drop it if none.
    `line_before` is given when the last line was cut at a loop (the text before the cursor on its line)."""
    spec = snapshot.language
    if spec is None or not edit.text:
        return edit
    if snapshot.source is None:
        return edit
    checker = ErrorCheck.create(spec, snapshot.source, snapshot.cursor_byte, snapshot.tree, snapshot.scope_bytes)
    if checker is None:
        return edit
    lines = edit.text.split("\n")
    for size in range(len(lines), 0, -1):
        candidate = "\n".join(lines[:size]).rstrip()
        if not candidate.strip():
            break
        replace = edit.replace_after if size == len(lines) else 0
        cut_line = None
        if line_before is not None and size == len(lines):
            cut_line = (line_before if size == 1 else "") + lines[-1]
        if not _adds_errors(checker, candidate, replace, cut_line):
            return Edit(candidate, replace)
    return Edit("")


def complete(
    engine: Engine,
    snapshot: Snapshot,
    settings: Settings,
    cancelled: Cancelled,
    on_text: Callable[[str], None] | None = None,
    alternatives: int = 1,
) -> Completion:
    """Generate until the completion unit is done; `on_text` sees the growing suggestion. With
    `alternatives` above 1 and an engine that `branches`, up to that many distinct suggestions."""
    began = time.perf_counter()
    if cancelled():
        # Superseded while queued behind other work: not even a plan.
        window = Window("", "", snapshot.offset, snapshot.offset)
        empty = Plan([], PromptMode.PREFIX_ONLY, window, Unit.LINE, "", "", skip="cancelled before it started")
        return Completion("", empty, GenerationStats(stop_reason="cancelled"))
    the_plan = plan(vocab_of(engine), engine.info.n_ctx, snapshot, settings)
    if the_plan.skip:
        return Completion("", the_plan, GenerationStats(stop_reason=the_plan.skip))
    planned = time.perf_counter()
    sampling = sampling_of(settings)
    end = text_end(_stopper(the_plan, settings))
    request = GenerationRequest(the_plan.tokens, sampling, cancelled, the_plan.constraint, snapshot.uri, end=end)
    streams: Iterator[PieceStream]
    if alternatives > 1 and engine.branches:
        wanted = alternatives + _SPARE_BRANCHES
        streams = engine.generate_alternatives(
            dataclasses.replace(request, alternatives=wanted, alternatives_share=_ALTERNATIVES_SHARE)
        )
    else:
        streams = iter([engine.generate(request)])
    first = next(streams)
    stats = first.stats
    edit = _suggestion(first, the_plan, snapshot, settings, cancelled, on_text)
    found = [(_likelihood(stats), edit)] if edit.text else []
    engine_ms = stats.total_ms
    if alternatives > 1 and not cancelled():
        now = time.perf_counter()
        deadline = now + (now - began) * _ALTERNATIVES_SHARE
        try:
            for stream in streams:
                if cancelled() or time.perf_counter() > deadline or len(found) >= alternatives:
                    stream.close()
                    break
                other = _suggestion(stream, the_plan, snapshot, settings, cancelled, None, deadline)
                engine_ms += stream.stats.total_ms
                if stream.stats.stop_reason == "cancelled" or cancelled():
                    break  # out of time: what it wrote is unfinished
                if other.text and all(other != kept for _, kept in found):
                    found.append((_likelihood(stream.stats), other))
        except EngineError as exc:
            log.warning("alternatives failed, the first suggestion stands: %s", exc)
        finally:
            close = getattr(streams, "close", None)
            if close is not None:
                close()
        # The most likely first; a stable sort keeps the first suggestion first among equals.
        found.sort(key=lambda scored: -scored[0])
    best = found[0][1] if found else Edit("")
    return Completion(
        best.text,
        the_plan,
        stats,
        best.replace_after,
        plan_ms=round((planned - began) * 1000, 2),
        post_ms=round((time.perf_counter() - planned) * 1000 - engine_ms, 2),
        alternatives=tuple(kept for _, kept in found[1:alternatives]),
    )


def _stopper(the_plan: Plan, settings: Settings) -> Stopper:
    return Stopper(
        unit=the_plan.unit,
        base_indent=indentation(the_plan.line_before),
        max_lines=settings.max_lines,
        next_line=next((line for line in the_plan.following if line.strip()), ""),
        below=not the_plan.line_after.strip(),
    )


def text_end(stopper: Stopper) -> TextEnd:
    """Where `stopper` certainly ends a suggestion, for the engine to end an alternative's branch."""
    if stopper.unit is Unit.LINE:
        return TextEnd(line=True, below=stopper.below)
    return TextEnd(block=True, lines=stopper.max_lines, base_indent=stopper.base_indent)


def _likelihood(stats: GenerationStats) -> float:
    """The model's mean log-probability per token: ranks suggestions of different lengths."""
    return stats.logprob / max(stats.generated_tokens, 1)


def _suggestion(
    pieces: PieceStream,
    the_plan: Plan,
    snapshot: Snapshot,
    settings: Settings,
    cancelled: Cancelled,
    on_text: Callable[[str], None] | None,
    out_of_time: float | None = None,
) -> Edit:
    """One generation through the stop rules, the cleanup, the block rules and the syntax gate.
    `out_of_time` (a `perf_counter` time) cuts it off as cancelled (an alternative over its budget)."""
    stopper = _stopper(the_plan, settings)
    stats = pieces.stats
    pending = the_plan.constraint
    deadline = time.perf_counter() + settings.max_latency_ms / 1000 if settings.max_latency_ms else None
    reason = ""
    try:
        for piece in pieces:
            if out_of_time is not None and time.perf_counter() > out_of_time:
                stats.stop_reason = "cancelled"
                return Edit("")
            if pending:
                # The re-spelled token healing text is already in the document.
                skipped = min(len(pending), len(piece))
                if piece[:skipped] != pending[:skipped]:
                    break  # cannot happen with a conforming engine; never show text at a wrong place
                pending, piece = pending[skipped:], piece[skipped:]
                if not piece:
                    continue
            done = stopper.feed(piece)
            if on_text is not None:
                on_text(stopper.text)
            if done:
                break
            if deadline is not None and time.perf_counter() > deadline:
                stopper.cut_to_line()  # out of time: keep whole lines
                reason = STOP_LATENCY
                break
    finally:
        pieces.close()
    raw = stopper.finish(ran_out=stats.stop_reason == "max_tokens")
    style: IndentStyle | None = None
    starts_line = not the_plan.line_before.strip() and raw[:1] in (" ", "\t")
    if "\n" in raw or starts_line:
        cursor_indent = indentation(the_plan.line_before)
        style = detect_indent(snapshot.text)
        if style is None and cursor_indent:
            # The cursor line's own indentation is the only evidence in a nearly empty file.
            style = IndentStyle(tabs=cursor_indent.startswith("\t"), width=4)
    edit = clean(
        raw,
        the_plan.unit,
        the_plan.line_after,
        indentation(the_plan.line_before),
        line_before=the_plan.line_before,
        following=the_plan.following,
        style=style,
    )
    if the_plan.unit is Unit.BLOCK and snapshot.language is not None and edit.text:
        kept = drop_open_end(edit.text, snapshot.language.name, the_plan.following, indentation(the_plan.line_before))
        if kept != edit.text:
            edit = Edit(kept if kept.strip() else "", edit.replace_after if kept.strip() else 0)
    if settings.syntax_check and not cancelled():
        edit = _syntax_gate(snapshot, edit, the_plan.line_before if stopper.reason == STOP_LOOP else None)
    # The engine only knows it was closed early; the rule that closed it is ours.
    if stopper.reason or reason:
        stats.stop_reason = stopper.reason or reason
    return edit
