"""Where a multi-line suggestion may end (pure): never on an opener whose body is missing, never
after a second copy of itself.

A model cut by the line limit, or one that stops to "think", often leaves a header (`def f(x):`,
`if (x) {`) as its last line: inserted, it is a syntax error the user has to finish or undo. A
model that loses its place writes the block it just wrote again, whole.
"""

from __future__ import annotations

import re

# Line-end keywords that open a body in the `end`-delimited languages.
_KEYWORD_OPENERS: dict[str, re.Pattern[str]] = {
    "lua": re.compile(r"(\b(then|do|else|repeat)|\bfunction\b[^()]*\([^()]*\))$"),
    "ruby": re.compile(
        r"(\b(then|do|else|begin)|\bdo\s*\|[^|]*\||^(def|class|module|if|unless|while|until|case|for|elsif)\b.*)$"
    ),
    "bash": re.compile(r"(\b(then|do|else)|\bin|\{)$"),
}
_ENDS_ITSELF = re.compile(r"\bend$")
# Languages whose blocks open with `{` at the end of a line.
_BRACES = frozenset({"javascript", "typescript", "tsx", "go", "rust", "c", "cpp", "java", "php", "csharp"})


def _code_of(line: str, comment: str) -> str:
    """The line without a trailing comment (outside quotes), stripped."""
    quote = ""
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif line.startswith(comment, i):
            return line[:i].strip()
        i += 1
    return line.strip()


def opens_body(line: str, language: str) -> bool:
    """Whether `line` ends by opening a body that has to follow on the next lines."""
    if language == "python":
        return _code_of(line, "#").endswith(":")
    if language in _BRACES:
        return _code_of(line, "//").endswith("{")
    pattern = _KEYWORD_OPENERS.get(language)
    if pattern is None:
        return False
    code = _code_of(line, "--" if language == "lua" else "#")
    return bool(pattern.search(code)) and not _ENDS_ITSELF.search(code)


def _width(line: str) -> int:
    lead = line[: len(line) - len(line.lstrip(" \t"))]
    return len(lead.expandtabs(4))


def drop_open_end(text: str, language: str, following: list[str] | None = None, indent: str = "") -> str:
    """`text` without the trailing lines that open a body it does not write (blank lines before
    them too). An opener stays when the document's next line below is indented deeper: the body
    is there already. `indent` is what the cursor line has before the text's first line."""
    lines = text.split("\n")
    below = next((line for line in following or [] if line.strip()), None)
    while lines:
        last = lines[-1]
        if not last.strip():
            lines.pop()
            continue
        if not opens_body(last, language):
            break
        placed = indent + last if len(lines) == 1 else last
        if below is not None and _width(below) > _width(placed):
            break
        lines.pop()
    return "\n".join(lines)


def _key(line: str) -> str:
    return line.rstrip()


def _copy_at(keys: list[str], start: int, size: int) -> bool:
    """Whether keys[start:start+size] comes again right after itself, at any indentation."""
    first = keys[start : start + size]
    second = keys[start + size : start + 2 * size]
    if len(second) < size or not any(any(ch.isalnum() for ch in line) for line in first):
        return False
    if any(a.strip() != b.strip() for a, b in zip(first, second, strict=True)):
        return False
    # Shifted as a whole: the relative indentation inside each copy is the same. The suggestion's
    # first line starts at the cursor, so its own indentation says nothing.
    shifts = {
        _width(b) - _width(a) for j, (a, b) in enumerate(zip(first, second, strict=True)) if a.strip() and start + j
    }
    return len(shifts) <= 1


def repeat_end(lines: list[str]) -> int | None:
    """How many of `lines` to keep when they end with two copies of a block of two lines or more
    (the first copy kept); None when they do not."""
    keys = [_key(line) for line in lines]
    for size in range(2, len(keys) // 2 + 1):
        start = len(keys) - 2 * size
        if keys[start].strip() and _copy_at(keys, start, size):
            return start + size
    return None


def first_repeat(lines: list[str]) -> int | None:
    """How many of `lines` to keep when a block of two lines or more is followed by a copy of
    itself anywhere in them (through the first copy); None when none is."""
    keys = [_key(line) for line in lines]
    for end in range(4, len(keys) + 1):
        kept = repeat_end(keys[:end])
        if kept is not None:
            return kept
    return None
