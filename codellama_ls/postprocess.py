"""Where a suggestion ends and how it is cleaned up (pure).

`Stopper` sees the text as it streams out of the engine and says when the
completion unit is complete, so generation never runs to the token limit just to
be cut afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


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


@dataclass
class Stopper:
    unit: Unit
    base_indent: str = ""
    """Indentation of the cursor line; a block ends where a line dedents below it."""
    max_lines: int = 8
    next_line: str = ""
    """The first non-empty line below the cursor; generating it again means the model is repeating the suffix."""

    def __post_init__(self) -> None:
        self.text = ""
        self.stopped = False

    def feed(self, piece: str) -> bool:
        """Add generated text; True when the unit is complete (then `text` is final)."""
        if self.stopped:
            return True
        self.text += piece
        cut = self._cut_point()
        if cut is not None:
            self.text = self.text[:cut]
            self.stopped = True
        return self.stopped

    def _cut_point(self) -> int | None:
        if self.unit is Unit.LINE:
            newline = self.text.find("\n")
            return newline if newline >= 0 else None
        lines = self.text.split("\n")
        complete = lines[:-1]  # the last piece may still grow
        offset = 0
        blank_run = 0
        base = _width(self.base_indent)
        repeat = self.next_line.strip()
        for index, line in enumerate(complete):
            stripped = line.strip()
            if index > 0 and stripped:
                if _width(indentation(line)) < base or (repeat and stripped == repeat):
                    return max(offset - 1, 0)
            blank_run = blank_run + 1 if not stripped and index > 0 else 0
            if blank_run >= 2:
                return max(offset - 1, 0)
            if index + 1 >= self.max_lines:
                return offset + len(line)
            offset += len(line) + 1
        return None

    def finish(self) -> str:
        """The final text when generation ended for another reason (EOT, token limit, time)."""
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
        cut = self._cut_point()
        self.text = saved
        return None if cut is None else min(cut, len(saved))


def clean(text: str, unit: Unit, line_after: str, cursor_indent: str) -> str:
    """Trim what the editor should not show; empty means no suggestion."""
    if unit is Unit.BLOCK:
        # A block suggestion that starts on the next line would leave the cursor
        # line as it is; start it at the cursor instead, minus the cursor's indent.
        lines = text.split("\n")
        while lines and not lines[0].strip():
            lines.pop(0)
            if lines:
                first = lines[0]
                drop = min(len(indentation(first)), len(cursor_indent))
                lines[0] = first[drop:]
        text = "\n".join(lines)
    text = text.rstrip()
    if unit is Unit.LINE:
        rest = line_after.strip()
        # The model re-typed what already follows the cursor: show only the new part.
        if rest and text.endswith(rest):
            text = text[: len(text) - len(rest)].rstrip()
    return text if text.strip() else ""
