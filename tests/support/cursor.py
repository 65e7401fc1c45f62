"""The cursor in a test's source: one marker character (`█`) where the cursor stands."""

from __future__ import annotations

MARKER = "█"


def split_cursor(marked: str, marker: str = MARKER) -> tuple[str, int]:
    """The text without the marker, and the marker's offset (a str index) in it."""
    index = marked.index(marker)
    return marked[:index] + marked[index + len(marker) :], index


def cursor(marked: str, marker: str = MARKER, encoding: str = "utf-16") -> tuple[str, int, int]:
    """The text without the marker, and the marker's LSP position (line, character in `encoding`)."""
    text, index = split_cursor(marked, marker)
    before = text[:index].replace("\r\n", "\n").replace("\r", "\n")
    line = before.count("\n")
    head = before.rsplit("\n", 1)[-1]
    codec = {"utf-16": "utf-16-le", "utf-8": "utf-8", "utf-32": "utf-32-le"}[encoding]
    unit = {"utf-16": 2, "utf-8": 1, "utf-32": 4}[encoding]
    return text, line, len(head.encode(codec)) // unit
