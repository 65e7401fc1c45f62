"""Where a suggestion ends and how it is cleaned up (pure).

`Stopper` sees the text as it streams out of the engine and says when the
completion unit is complete, so generation never runs to the token limit just to
be cut afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from codellama_ls.completion.block_rules import repeat_end


class Unit(str, Enum):
    LINE = "line"
    BLOCK = "block"


def completion_unit(line_before: str, line_after: str) -> Unit:
    """One line in the middle of a line; a block on an empty line."""
    if (line_before + line_after).strip():
        return Unit.LINE
    return Unit.BLOCK


def indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _width(indent: str, tab_size: int = 4) -> int:
    return sum(tab_size if ch == "\t" else 1 for ch in indent)


def _normalized(line: str) -> str:
    """A line with its indentation measured in columns, for comparing lines across tab/space styles."""
    indent = indentation(line)
    return " " * _width(indent) + line[len(indent) :].rstrip()


# Why generation stopped, as `codellama/stats` reports it: the Stopper's rules, then the engine's.
STOP_END_OF_LINE = "end_of_line"
"""A line suggestion reached the newline."""
STOP_DEDENT = "dedent"
STOP_BLANK_LINES = "blank_lines"
STOP_REPEAT = "repeats_following_code"
STOP_MAX_LINES = "max_lines"
STOP_LATENCY = "latency_budget"
STOP_LOOP = "repetition_loop"
"""The model repeated a piece of a line over and over (`.glob.glob.glob`); the text before the loop stays."""
STOP_REPEATED_BLOCK = "repeated_block"
"""The model wrote a block of lines again, whole, right after itself; the first copy stays."""

# A loop is a unit of at least _LOOP_UNIT characters, with at least two letters or digits (a run of
# `=` or `0, ` in a table is code), repeated at the end of a line. Code repeats a unit a few times
# (`NULL, NULL, NULL, NULL`, `float64, float64, float64`), so while the line is still being written
# only _EARLY_COPIES copies over _EARLY_CHARS characters stop it; a line that ran into the token limit
# is cut at _LOOP_COPIES copies over _LOOP_CHARS: the model never ended it.
_LOOP_UNIT = 2
_LOOP_COPIES = 3
_LOOP_CHARS = 20
_EARLY_COPIES = 8
_EARLY_CHARS = 40
# C/C++/C#/Objective-C preprocessor lines, written at column 0 inside indented code.
_DIRECTIVE = re.compile(
    r"#\s*(if|ifdef|ifndef|elif|elifdef|elifndef|else|endif|define|undef|include|import|pragma|error|warning"
    r"|line|region|endregion|nullable)\b"
)


def loop_start(line: str, copies: int = _LOOP_COPIES, chars: int = _LOOP_CHARS) -> int | None:
    """Where the first copy of a loop at the end of `line` ends (what to keep), or None."""
    size = len(line)
    for period in range(_LOOP_UNIT, size // copies + 1):
        # How far back the tail keeps the period: line[i] == line[i + period] from `start` on.
        start = size - period
        while start > 0 and line[start - 1] == line[start - 1 + period]:
            start -= 1
        run = size - start
        if run < period * copies:
            continue
        # The shortest unit decides: ` x x` is not a unit when ` x` is one.
        unit = line[start : start + period]
        if run < chars or sum(ch.isalnum() for ch in unit) < 2:
            return None
        return start + period
    return None


@dataclass
class Stopper:
    unit: Unit
    base_indent: str = ""
    """Indentation of the cursor line; a block ends where a line dedents below it."""
    max_lines: int = 8
    next_line: str = ""
    """The first non-empty line below the cursor; generating it again means the model is repeating the suffix."""
    below: bool = False
    """A line unit at the end of its line: when the model ends that line at once (after an accepted
    suggestion it always does), the suggestion is the next line, newline first."""

    def __post_init__(self) -> None:
        self.text = ""
        self.stopped = False
        self.reason = ""
        """The rule that ended the unit (`STOP_*`); empty while it goes on or when generation ended it."""
        self._repeats_checked = 0
        """Complete lines already found free of a repeated block (they never change)."""

    def feed(self, piece: str) -> bool:
        """Add generated text; True when the unit is complete (then `text` is final)."""
        if self.stopped:
            return True
        self.text += piece
        cut, reason = self._cut_point()
        if cut is not None:
            self.text = self.text[:cut]
            self.stopped = True
            self.reason = reason
        return self.stopped

    def _cut_point(self) -> tuple[int | None, str]:
        loop = self._loop_cut(_EARLY_COPIES, _EARLY_CHARS)
        if loop is not None:
            return loop, STOP_LOOP
        if self.unit is Unit.LINE:
            newline = self.text.find("\n")
            if newline < 0:
                return None, ""
            if not self.below or self.text[:newline].strip():
                return newline, STOP_END_OF_LINE
            return self._next_line(newline + 1)
        lines = self.text.split("\n")
        complete = lines[:-1]  # the last piece may still grow
        offset = 0
        blank_run = 0
        base = _width(self.base_indent)
        repeat = _normalized(self.next_line)
        previous = ""
        for index, line in enumerate(complete):
            stripped = line.strip()
            if index > 1 and stripped and line == previous:
                return max(offset - 1, 0), STOP_LOOP  # the same line again: a loop of lines
            previous = line
            if index >= self._repeats_checked:
                kept = repeat_end(complete[: index + 1])
                if kept is not None:
                    return sum(len(first) + 1 for first in complete[:kept]) - 1, STOP_REPEATED_BLOCK
                self._repeats_checked = index + 1
            # Column-0 preprocessor lines (#ifdef, #endif) do not end a block; a comment there does
            # (`# Example usage:` after a Python function).
            if index > 0 and stripped and not _DIRECTIVE.match(stripped):
                # Compared with indentation: an inner `}` is not the function's closing `}` below.
                if _width(indentation(line)) < base:
                    return max(offset - 1, 0), STOP_DEDENT
                if repeat and _normalized(line) == repeat:
                    return max(offset - 1, 0), STOP_REPEAT
            blank_run = blank_run + 1 if not stripped and index > 0 else 0
            if blank_run >= 2:
                return max(offset - 1, 0), STOP_BLANK_LINES
            if index + 1 >= self.max_lines:
                return offset + len(line), STOP_MAX_LINES
            offset += len(line) + 1
        return None, ""

    def _loop_cut(self, copies: int = _LOOP_COPIES, chars: int = _LOOP_CHARS) -> int | None:
        """Where to cut a loop at the end of the last line (`loop_start`), or None."""
        line_start = self.text.rfind("\n") + 1
        keep = loop_start(self.text[line_start:], copies, chars)
        return None if keep is None else line_start + keep

    def _next_line(self, start: int) -> tuple[int | None, str]:
        """The end of the first non-blank line from `start` on; after two blank lines, nothing."""
        for _ in range(2):
            end = self.text.find("\n", start)
            if end < 0:
                return None, ""
            if self.text[start:end].strip():
                return end, STOP_END_OF_LINE
            start = end + 1
        return 0, STOP_BLANK_LINES

    def cut_to_line(self) -> None:
        """End at the last line boundary (a block keeps its complete lines; a line keeps what it has)."""
        if self.unit is Unit.BLOCK and "\n" in self.text:
            self.text = self.text[: self.text.rfind("\n")]
        self.stopped = True

    def finish(self, ran_out: bool = True) -> str:
        """The final text when generation ended for another reason (EOT, token limit, time);
        `ran_out`: the engine stopped at the token limit, so the last line was never ended."""
        loop = self._loop_cut() if not self.stopped and ran_out else None
        if loop is not None:
            self.text = self.text[:loop]
            self.reason = STOP_LOOP
        if not self.stopped and self.unit is Unit.BLOCK:
            cut = self._cut_point_final()
            if cut is not None:
                self.text = self.text[:cut]
        self.stopped = True
        return self.text

    def _cut_point_final(self) -> int | None:
        # Judge the last, unterminated line too, by pretending it ended.
        saved = self.text
        self.text = saved + "\n"
        cut, _ = self._cut_point()
        self.text = saved
        return None if cut is None else min(cut, len(saved))


# What an editor's auto-pairs put right of the cursor; completing before it is fine.
CLOSERS = frozenset(")]}>\"'`;,:")


def should_trigger(line_after: str) -> bool:
    """Automatic triggers fire only where the rest of the line is closers and whitespace."""
    return all(ch in CLOSERS or ch.isspace() for ch in line_after)


_PAIRS = {"(": ")", "[": "]", "{": "}"}
_QUOTES = "\"'`"


def closers_for(text: str, close_quote: bool = False) -> str | None:
    """The closing brackets, innermost first, of those `text` leaves open (quoted text and `//`
    comments skipped); None when a closer in it matches no opener. With `close_quote`, a string
    left open is closed first."""
    stack: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote or (ch == "\n" and quote != "`"):
                quote = ""
        elif ch in _QUOTES:
            quote = ch
        elif text.startswith("//", i):
            newline = text.find("\n", i)
            i = len(text) if newline < 0 else newline
            continue
        elif ch in _PAIRS:
            stack.append(_PAIRS[ch])
        elif ch in _PAIRS.values():
            if not stack or stack.pop() != ch:
                return None
        i += 1
    return (quote if close_quote else "") + "".join(reversed(stack))


@dataclass(frozen=True)
class Edit:
    """The cleaned suggestion and how many characters right of the cursor it replaces."""

    text: str
    replace_after: int = 0


def _drop_repeats(lines: list[str]) -> list[str]:
    # A model stuck in a loop repeats a line verbatim; keep the first copy only.
    kept: list[str] = []
    for line in lines:
        if kept and line.strip() and line == kept[-1]:
            break
        kept.append(line)
    return kept


def _drop_suffix_overlap(lines: list[str], following: list[str], cursor_indent: str) -> list[str]:
    """Drop trailing suggestion lines that the document already has right below the cursor."""
    wanted = [_normalized(line) for line in following if line.strip()]
    # The first line starts at the cursor, after the cursor line's indentation.
    placed = [_normalized(cursor_indent + lines[0])] + [_normalized(line) for line in lines[1:]]
    for size in range(min(len(lines), len(wanted)), 0, -1):
        if placed[-size:] == wanted[:size]:
            return lines[:-size]
    return lines


@dataclass(frozen=True)
class IndentStyle:
    tabs: bool
    width: int


def detect_indent(text: str, sample_lines: int = 2000) -> IndentStyle | None:
    """The document's indentation: tabs or spaces, and the most common step; None without evidence."""
    tabs = spaces = 0
    steps: dict[int, int] = {}
    previous = 0
    for index, line in enumerate(text[:200_000].split("\n")):
        if index >= sample_lines:
            break
        if not line.strip():
            continue
        indent = indentation(line)
        if indent.startswith("\t"):
            tabs += 1
        elif indent:
            spaces += 1
            step = len(indent) - previous
            if step > 0:
                steps[step] = steps.get(step, 0) + 1
        previous = len(indent) if not indent.startswith("\t") else previous
    if not tabs and not spaces:
        return None
    width = max(steps, key=lambda k: steps[k]) if steps else 4
    return IndentStyle(tabs=tabs > spaces, width=width if width in (2, 3, 4, 8) else 4)


def _reindent(line: str, style: IndentStyle) -> str:
    indent = indentation(line)
    if not indent:
        return line
    if style.tabs and " " in indent and "\t" not in indent:
        tabs, rest = divmod(len(indent), style.width if style.width else 4)
        return "\t" * tabs + " " * rest + line[len(indent) :]
    if not style.tabs and "\t" in indent:
        return indent.replace("\t", " " * style.width) + line[len(indent) :]
    return line


def _reindent_first(line: str, line_before: str, style: IndentStyle) -> str:
    """The first line, when it starts a line, indented in the document's style: the cursor line's
    indentation is already there, so only what the suggestion adds to it changes."""
    lead = indentation(line)
    if line_before.strip() or not lead:
        return line
    columns = _width(line_before + lead, style.width)
    if style.tabs:
        # A line's own indentation is whole levels; a model's spaces that miss one are rounded.
        wanted = "\t" * ((columns + style.width // 2) // style.width)
    else:
        wanted = " " * columns
    if not wanted.startswith(line_before):
        return line
    return wanted[len(line_before) :] + line[len(lead) :]


def clean(
    text: str,
    unit: Unit,
    line_after: str,
    cursor_indent: str,
    *,
    line_before: str = "",
    following: list[str] | None = None,
    style: IndentStyle | None = None,
) -> Edit:
    """Trim what the editor should not show; empty text means no suggestion."""
    lines = text.split("\n")
    if unit is Unit.BLOCK:
        # A block suggestion that starts on the next line would leave the cursor
        # line as it is; start it at the cursor instead, minus the cursor's indent.
        while len(lines) > 1 and not lines[0].strip():
            lines.pop(0)
            drop = min(len(indentation(lines[0])), len(cursor_indent))
            lines[0] = lines[0][drop:]
    # SentencePiece pieces carry a leading space; after whitespace it would double it. A longer run
    # of spaces at the start of a line is indentation, not a piece's space.
    first_lead = indentation(lines[0]) if lines else ""
    if first_lead == " " * len(first_lead) and first_lead and (not line_before or line_before[-1].isspace()):
        if len(first_lead) == 1 or line_before.strip():
            lines[0] = lines[0][1:]
    lines = _drop_repeats(lines)
    if following and lines:
        lines = _drop_suffix_overlap(lines, following, cursor_indent)
        if not lines:
            return Edit("")
    if style is not None:
        lines = [_reindent_first(lines[0], line_before, style)] + [_reindent(line, style) for line in lines[1:]]
    text = "\n".join(line.rstrip() for line in lines).rstrip()
    if not text.strip():
        return Edit("")
    rest = line_after.rstrip()
    if rest and should_trigger(rest):
        # The editor auto-paired these closers: the item replaces those the suggestion also produces.
        for size in range(len(rest.strip()) and len(rest), 0, -1):
            if rest[:size].strip() and text.endswith(rest[:size]):
                return Edit(text, replace_after=size)
        return Edit(text)
    if rest and text.endswith(rest):
        text = text[: len(text) - len(rest)].rstrip()
    return Edit(text if text.strip() else "")
