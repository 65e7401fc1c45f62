"""Next-edit prompts at token level, and the model's answer back as edits (pure).

The two functions a benchmark needs (no server, no model):

- `next_edit_prompt(history, text, cursor, vocab, fmt, ...)` -> `NextEditPrompt`: the prompt's
  tokens, the editable region it asks the model to rewrite, and the generation budget;
- `edits_from_answer(old_region, answer, fmt)` -> `list[RegionEdit]`: the model's answer as
  minimal edits of the old region (offsets into it; empty when it changed nothing or said nothing usable).

The formats (`NextEditFormat`), each checked token for token against its published reference by
tests/unit/test_nextedit_prompt.py. Special tokens are the vocabulary's ids, never text; each text
between two of them is encoded whole, as a tokenizer reading the reference's template text does.

- `zeta`: Zed's Zeta2 layout (zed-industries/zed `crates/zeta_prompt/src/zeta_prompt.rs`,
  `V0113Ordered`, the default `V0114180EditableRegion`), with the family's own FIM and file-separator
  tokens (Qwen2.5-Coder's `<|file_sep|>`, StarCoder2's `<file_sep>`):
      <|file_sep|>{related path}\\n{text}\\n ...
      <|file_sep|>edit history\\n--- a/{path}\\n+++ b/{path}\\n{hunk} ...      (left out when empty)
      <|file_sep|>{path}\\n<|fim_prefix|>\\n{lines above}<|fim_middle|>current\\n{region with
      <|user_cursor|>}<|fim_suffix|>\\n{lines below}<|fim_middle|>updated\\n
  (every section ends with a newline); an accepted suggestion's hunk is headed
  `// User accepted prediction:`. The answer is the updated region.
- `sweep`: Sweep's next-edit format (the Sweep Next-Edit model card and blog, "Our Format"), on
  Qwen2.5-Coder's repository layout:
      <|file_sep|>{related path}\\n{text}\\n ...
      <|file_sep|>{path}.diff\\noriginal:\\n{old lines}\\nupdated:\\n{new lines}\\n ...   (per hunk)
      <|file_sep|>original/{path}\\n{region before the last edit}\\n
      <|file_sep|>current/{path}\\n{region}\\n<|file_sep|>updated/{path}\\n
  The answer is the updated region.
- `fim`: the region as the middle of a prefix-suffix-middle prompt (`prompts.fim.build_prompt`):
  prefix, the history as a comment and the lines above; suffix, the lines below. For Code Llama
  base and the FIM families without file separators.
- `chat`: instruction models (Code Llama - Instruct through Meta's format, chat GGUFs through
  their template, `prompts.chat`): the history and the region in one user message; the answer's
  first fenced block is the new region.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from codellama_ls.nextedit.diff import RegionEdit, minimal_edits
from codellama_ls.nextedit.history import EditKind, Hunk
from codellama_ls.nextedit.region import Region, editable_region
from codellama_ls.prompts.chat import ChatStyle, ChatVocab, Message, chat_prompt
from codellama_ls.prompts.fim import PromptMode, Vocab, build_prompt

CURSOR_MARKER = "<|user_cursor|>"
"""Zeta's cursor marker: plain text in every vocabulary here."""
ACCEPTED_HEADER = "// User accepted prediction:\n"
"""Zeta's line before a hunk the user accepted from a prediction."""
CONTEXT_LINES = 40
"""Lines of the file shown above and below the region (the excerpt)."""


class NextEditFormat(str, Enum):
    ZETA = "zeta"
    SWEEP = "sweep"
    FIM = "fim"
    CHAT = "chat"


class NextEditError(ValueError):
    """A format this vocabulary cannot build, or a prompt that does not fit the context."""


@dataclass(frozen=True)
class NextEditVocab:
    """What the formats need of a model: its FIM vocabulary, and its chat format if it has one."""

    vocab: Vocab
    chat: ChatVocab | None = None
    chat_style: ChatStyle | None = None
    chat_template: str | None = None


@dataclass(frozen=True)
class NextEditPrompt:
    tokens: list[int]
    format: NextEditFormat
    region: Region
    """The lines the model rewrites, in the text the prompt was built from."""
    old_region: str
    max_tokens: int
    """Enough to write the region again with a change (about twice its tokens)."""
    hunks: int
    """How many of the history's hunks fit."""


def formats_for(vocab: NextEditVocab) -> tuple[NextEditFormat, ...]:
    """The formats this model can be asked in, best guess first."""
    found: list[NextEditFormat] = []
    if vocab.chat is not None and vocab.chat_style is not None:
        found.append(NextEditFormat.CHAT)
    fim = vocab.vocab.fim
    if fim is not None and fim.file_sep is not None:
        found += [NextEditFormat.SWEEP, NextEditFormat.ZETA]
    if fim is not None:
        found.append(NextEditFormat.FIM)
    return tuple(found)


def choose_format(setting: str, vocab: NextEditVocab) -> NextEditFormat | None:
    """The `next_edit_format` setting for this model: `auto` is the first of `formats_for`; a named
    format the model cannot take is None (the caller says why)."""
    possible = formats_for(vocab)
    if setting == "auto":
        return possible[0] if possible else None
    chosen = NextEditFormat(setting)
    return chosen if chosen in possible else None


def next_edit_prompt(
    history: Sequence[Hunk],
    text: str,
    cursor: int,
    vocab: NextEditVocab,
    fmt: NextEditFormat,
    *,
    path: str = "file",
    region: Region | None = None,
    region_lines: int = 15,
    related: Sequence[tuple[str, str]] = (),
    language: str = "",
    line_comment: str | None = "#",
    n_ctx: int = 0,
    context_lines: int = CONTEXT_LINES,
) -> NextEditPrompt:
    """The prompt asking for the next edit of `text` (the file now, the cursor at str offset `cursor`).

    `history`: the user's recent hunks, oldest first (`EditHistory.hunks()`, or `hunks_between` on a
    commit). `region`: the lines to rewrite; by default `editable_region(text, cursor, region_lines)`
    without a syntax tree. `related`: other files' (path, text), for the formats with file
    separators. `line_comment`: how the `fim` format comments the history (None: no history).
    `n_ctx`: when set, the oldest hunks, then the excerpt's lines, are left out until the prompt and
    `max_tokens` fit. Raises `NextEditError` for a format this vocabulary cannot build."""
    if fmt not in formats_for(vocab):
        raise NextEditError(f"the model cannot take the {fmt.value} next-edit format")
    region = region if region is not None else editable_region(text, cursor, region_lines)
    hunks = list(history)
    lines = context_lines
    while True:
        tokens = _build(hunks, text, cursor, vocab, fmt, path, region, related, language, line_comment, lines)
        budget = _budget(vocab.vocab, region.of(text), fmt)
        if not n_ctx or len(tokens) + budget <= n_ctx:
            return NextEditPrompt(tokens, fmt, region, region.of(text), budget, len(hunks))
        if hunks:
            hunks.pop(0)
        elif lines > 0:
            lines //= 2
        elif related:
            related = ()
        else:
            raise NextEditError(
                f"the region alone needs {len(tokens) + budget} tokens, more than n_ctx={n_ctx}: make"
                " `next_edit_region_lines` smaller"
            )


def new_region(old_region: str, answer: str, fmt: NextEditFormat) -> str | None:
    """The region the model wrote, as text to diff against `old_region`; None when the answer
    holds none (no fenced block where one was asked for)."""
    if fmt is NextEditFormat.CHAT:
        block = _first_block(answer)
        if block is None:
            return None
        answer = block
    answer = answer.replace(CURSOR_MARKER, "")
    if fmt is NextEditFormat.SWEEP and not answer.endswith("\n"):
        answer += "\n"  # the window was shown without its last newline
    if old_region.endswith("\n") and not answer.endswith("\n"):
        answer += "\n"
    elif not old_region.endswith("\n") and answer.endswith("\n"):
        answer = answer[:-1]
    return answer


def answer_complete(answer: str, fmt: NextEditFormat) -> bool:
    """Whether the answer so far holds all that will be read of it (a chat answer's first fenced block,
    closed): generation can stop there instead of writing the model's comments after it."""
    if fmt is not NextEditFormat.CHAT:
        return False
    opening = _FENCE.search(answer)
    if opening is None:
        return False
    marker = opening.group(1)[:3]
    return any(f.group(1).startswith(marker) for f in _FENCE.finditer(answer, opening.end() + 1))


def edits_from_answer(old_region: str, answer: str, fmt: NextEditFormat) -> list[RegionEdit]:
    """The model's answer as minimal edits of `old_region` (offsets into it); empty when it changed
    nothing or wrote nothing usable."""
    written = new_region(old_region, answer, fmt)
    if written is None or not written.strip():
        return []
    return minimal_edits(old_region, written)


# -- the formats -------------------------------------------------------------------


def _excerpt(text: str, region: Region, lines: int) -> tuple[str, str]:
    """Up to `lines` whole lines above and below the region."""
    start = region.start
    for _ in range(lines):
        if start == 0:
            break
        start = text.rfind("\n", 0, start - 1) + 1
    end = region.end
    for _ in range(lines):
        if end >= len(text):
            break
        nxt = text.find("\n", end)
        end = len(text) if nxt < 0 else nxt + 1
    return text[start : region.start] if lines else "", text[region.end : end] if lines else ""


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _window(text: str) -> str:
    """Sweep shows a window without its final newline: the template adds one."""
    return text[:-1] if text.endswith("\n") else text


def _segments(vocab: Vocab, parts: Sequence[tuple[int | None, str]]) -> list[int]:
    """A special token, then the text up to the next one encoded whole (byte-level BPE vocabs add
    no leading space, so encoding a segment alone is what the reference's tokenizer does)."""
    tokens: list[int] = []
    for special, text in parts:
        if special is not None:
            tokens.append(special)
        if text:
            tokens += vocab.encode(text)
    return tokens


def _event(hunk: Hunk) -> str:
    head = ACCEPTED_HEADER if hunk.kind is EditKind.ACCEPTED else ""
    return f"{head}--- a/{hunk.path}\n+++ b/{hunk.path}\n{hunk.unified()}"


def _zeta(
    hunks: Sequence[Hunk],
    text: str,
    cursor: int,
    vocab: Vocab,
    path: str,
    region: Region,
    related: Sequence[tuple[str, str]],
    lines: int,
) -> list[int]:
    fim = vocab.fim
    assert fim is not None and fim.file_sep is not None
    sep = fim.file_sep
    above, below = _excerpt(text, region, lines)
    parts: list[tuple[int | None, str]] = [(sep, _with_newline(f"{name}\n{body}")) for name, body in related]
    if hunks:
        parts.append((sep, "edit history\n" + "".join(_event(h) for h in hunks)))
    current = text[region.start : cursor] + CURSOR_MARKER + text[cursor : region.end]
    parts += [
        (sep, f"{path}\n"),
        (fim.prefix, _with_newline("\n" + above)),
        (fim.middle, _with_newline("current\n" + current)),
        (fim.suffix, _with_newline("\n" + below)),
        (fim.middle, "updated\n"),
    ]
    bos = [vocab.bos] if vocab.bos is not None else []  # the family's BOS rule is the vocab's (none for Qwen)
    return bos + _segments(vocab, parts)


def _undo_last(hunks: Sequence[Hunk], path: str, region_text: str, region: Region) -> str:
    """The region as it was before the file's last hunk, when that hunk lies inside it."""
    last = next((h for h in reversed(hunks) if h.path == path), None)
    if last is None:
        return region_text
    lines = region_text.split("\n")
    at = last.start - region.start_line
    if at < 0 or at + len(last.new) > region.end_line - region.start_line:
        return region_text
    if lines[at : at + len(last.new)] != list(last.new):
        return region_text
    return "\n".join([*lines[:at], *last.old, *lines[at + len(last.new) :]])


def _sweep(
    hunks: Sequence[Hunk], text: str, vocab: Vocab, path: str, region: Region, related: Sequence[tuple[str, str]]
) -> list[int]:
    fim = vocab.fim
    assert fim is not None and fim.file_sep is not None
    sep = fim.file_sep
    current = region.of(text)
    original = _undo_last(hunks, path, current, region)
    parts: list[tuple[int | None, str]] = [(sep, f"{name}\n{_window(body)}\n") for name, body in related]
    for hunk in hunks:
        parts.append((sep, f"{hunk.path}.diff\noriginal:\n{hunk.before_text()}\nupdated:\n{hunk.after_text()}\n"))
    parts += [
        (sep, f"original/{path}\n{_window(original)}\n"),
        (sep, f"current/{path}\n{_window(current)}\n"),
        (sep, f"updated/{path}\n"),
    ]
    bos = [vocab.bos] if vocab.bos is not None else []  # the family's BOS rule is the vocab's (none for Qwen)
    return bos + _segments(vocab, parts)


def history_comment(hunks: Sequence[Hunk], comment: str | None) -> str:
    """The hunks as a leading comment block (the `fim` format's prefix starts with it)."""
    if not hunks or not comment:
        return ""
    lines = [f"{comment} Recent edits:"]
    for hunk in hunks:
        lines += [f"{comment} {line}".rstrip() for line in _event(hunk).rstrip("\n").split("\n")]
    return "\n".join(lines) + "\n"


def _fim(
    hunks: Sequence[Hunk], text: str, vocab: Vocab, region: Region, line_comment: str | None, lines: int
) -> list[int]:
    above, below = _excerpt(text, region, lines)
    return build_prompt(vocab, history_comment(hunks, line_comment) + above, below, PromptMode.PSM)


CHAT_SYSTEM = (
    "You predict the next edit a programmer makes to their code, from the edits they just made."
    " Answer with code only, in one fenced code block."
)


def chat_messages(
    hunks: Sequence[Hunk], text: str, cursor: int, path: str, region: Region, language: str
) -> list[Message]:
    """The `chat` format's conversation (system and user message)."""
    current = text[region.start : cursor] + CURSOR_MARKER + text[cursor : region.end]
    diffs = "".join(_event(h) for h in hunks) or "(none)\n"
    user = (
        f"My recent edits, oldest first:\n```diff\n{diffs}```\n\n"
        f"The code around my cursor in {path} ({CURSOR_MARKER} marks the cursor):\n"
        f"```{language}\n{_with_newline(current)}```\n\n"
        "Rewrite this code with the edit I will make next, the one my recent edits call for (a name I renamed,"
        " used again; a changed call, made again). Keep every other line exactly as it is. Answer with the"
        f" rewritten code only, in one fenced code block, without {CURSOR_MARKER}."
    )
    return [Message("system", CHAT_SYSTEM), Message("user", user)]


def _chat(
    hunks: Sequence[Hunk], text: str, cursor: int, vocab: NextEditVocab, path: str, region: Region, language: str
) -> list[int]:
    assert vocab.chat is not None and vocab.chat_style is not None
    messages = chat_messages(hunks, text, cursor, path, region, language)
    return chat_prompt(vocab.chat, vocab.chat_style, vocab.chat_template, messages)


def _build(
    hunks: Sequence[Hunk],
    text: str,
    cursor: int,
    vocab: NextEditVocab,
    fmt: NextEditFormat,
    path: str,
    region: Region,
    related: Sequence[tuple[str, str]],
    language: str,
    line_comment: str | None,
    lines: int,
) -> list[int]:
    if fmt is NextEditFormat.ZETA:
        return _zeta(hunks, text, cursor, vocab.vocab, path, region, related, lines)
    if fmt is NextEditFormat.SWEEP:
        return _sweep(hunks, text, vocab.vocab, path, region, related)
    if fmt is NextEditFormat.FIM:
        return _fim(hunks, text, vocab.vocab, region, line_comment, lines)
    return _chat(hunks, text, cursor, vocab, path, region, language)


def _budget(vocab: Vocab, region_text: str, fmt: NextEditFormat) -> int:
    size = len(vocab.encode(region_text)) if region_text else 0
    return 2 * size + (64 if fmt is NextEditFormat.CHAT else 16)


_FENCE = re.compile(r"^[ \t]*(```+|~~~+)[^\n`]*$", re.MULTILINE)


def _first_block(answer: str) -> str | None:
    """The body of the answer's first fenced block (to its end when unclosed); None without a fence."""
    opening = _FENCE.search(answer)
    if opening is None:
        return None
    body = opening.end() + 1
    marker = opening.group(1)[:3]
    for closing in _FENCE.finditer(answer, body):
        if closing.group(1).startswith(marker):
            return answer[body : closing.start()]
    return answer[body:]
