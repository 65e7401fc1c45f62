"""Names the code around the cursor binds itself (pure): the parameters of the functions that hold
the cursor and the variables declared in them above it.

A call to such a name calls the local thing (`render(dom, options)` with `render` a parameter), so a
workspace definition of the same name would show the model the wrong signature. Read only where a
parameter's name comes before its type: in Java's `(Foo foo, Bar bar)` the first word is a type.
"""

from __future__ import annotations

import re

_NAME = r"[A-Za-z_$][A-Za-z0-9_$]*"
# How far a scope's header is read for its parameter list, and how much of a body for declarations.
_HEADER_REACH = 2000
_BODY_REACH = 8192
# A parameter: its name right after `(` or `,`, past spread, pointer and modifier words, then what
# ends a name in a parameter list (`:`, `,`, `)`, `=`, `?`, or Go's type after a space).
_PARAMETER = re.compile(
    rf"[(,]\s*(?:\.\.\.|\*\*?|&|(?:mut|readonly|public|private|protected|override)\s+)*({_NAME})\s*(?=[:,)=?]|\s\S)"
)
# What stands before a function's parameter list on its header line: `def f`, `function* f`,
# `pub async fn f<T>`, `func (s *S) f`, a method's name, nothing (an arrow). Not `if`, a call, a
# class's bases or a decorator's arguments.
_FUNCTION_HEAD = re.compile(
    r"\s*(?:(?:export|default|pub(?:\([^)]*\))?|async|static|unsafe|public|private|protected|override|get|set)\s+)*"
    rf"(?:(?:def|function|fn|func)\b\s*\*?\s*(?:{_NAME})?|\*?\s*(?P<method>{_NAME}))?\s*(?:<[^()]*>)?\s*"
)
# A function written inside a header line: `items.forEach(function (item) {`, Go's `go func(x int) {`.
_INNER_FUNCTION = re.compile(rf"\b(?:function|func)\b\s*\*?\s*(?:{_NAME})?\s*(?=\()")
_NOT_FUNCTIONS = frozenset("if elif while for switch catch with return await yield match when until unless new".split())
# An arrow's, a lambda's or a closure's parameters: bound on the line being written too.
_INLINE = (
    re.compile(r"\(([^()]*)\)\s*(?::[^=]*)?=>"),
    re.compile(rf"({_NAME})\s*=>"),
    re.compile(r"\blambda\s+([^:()]*):"),
    re.compile(r"\|([^|]*)\|"),
)
_GROUPS = (_INLINE[0], _INLINE[2], _INLINE[3])
_JS = (
    re.compile(rf"\b(?:const|let|var)\s+({_NAME})"),
    re.compile(r"\b(?:const|let|var)\s*[{\[]([^}\]=]*)[}\]]"),
    *_INLINE[:2],
)
_DECLARATIONS: dict[str, tuple[re.Pattern[str], ...]] = {
    "javascript": _JS,
    "typescript": _JS,
    "tsx": _JS,
    "python": (
        re.compile(rf"^[ \t]*({_NAME}(?:\s*,\s*{_NAME})*)\s*(?::[^=\n]*)?=(?!=)", re.MULTILINE),
        re.compile(rf"\bfor\s+({_NAME}(?:\s*,\s*{_NAME})*)\s+in\b"),
        re.compile(rf"\bas\s+({_NAME})"),
        _INLINE[2],
    ),
    "go": (re.compile(rf"\b({_NAME}(?:\s*,\s*{_NAME})*)\s*:="), re.compile(rf"\bvar\s+({_NAME})")),
    "rust": (re.compile(rf"\blet\s+(?:mut\s+)?({_NAME})"), _INLINE[3]),
}
_WORDS = re.compile(_NAME)


def _balanced(text: str, opened: int, limit: int) -> str:
    depth = 0
    for i in range(opened, min(limit, opened + _HEADER_REACH)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[opened : i + 1]
    return ""


def _top_level(group: str) -> str:
    """A parameter list without what its nested brackets hold (a default's call, a callback's own
    parameters, a type's generics): those names are not this function's."""
    out, depth = [], 0
    for ch in group[1:-1]:
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "(" + "".join(out) + ")"


def _parameters(text: str, start: int, limit: int) -> set[str]:
    """The parameter names of the function whose header line starts at `start` (Go's receiver too)."""
    names: set[str] = set()
    at = start
    for _ in range(2):  # Go: `func (s *Server) Handle(w, r)`
        head = _FUNCTION_HEAD.match(text, at, min(limit, at + _HEADER_REACH))
        end = head.end() if head else at
        if head is None or text[end : end + 1] != "(" or head.group("method") in _NOT_FUNCTIONS:
            break
        group = _balanced(text, end, limit)
        if not group:
            break
        names.update(_PARAMETER.findall(_top_level(group)))
        at = end + len(group)
    line_end = text.find("\n", start, limit)
    for inner in _INNER_FUNCTION.finditer(text, start, line_end if line_end >= 0 else limit):
        group = _balanced(text, inner.end(), limit)
        if group:
            names.update(_PARAMETER.findall(_top_level(group)))
    return names


def _indentation(line: str) -> int:
    return len(line) - len(line.lstrip())


def _opening(text: str, closer: int, floor: int) -> int | None:
    """Where the bracket closed at `closer` was opened, scanning back no further than `floor`."""
    depth = 0
    for i in range(closer, floor - 1, -1):
        if text[i] in ")]}":
            depth += 1
        elif text[i] in "([{":
            depth -= 1
            if depth == 0:
                return i
    return None


def _line_start(text: str, floor: int, at: int) -> int:
    """The start of the line holding `at`, no further back than `floor` (itself a line's start)."""
    return max(text.rfind("\n", floor, at) + 1, floor)


def enclosing_headers(text: str, offset: int, floor: int) -> list[int]:
    """The starts of the lines that open the blocks around the cursor, innermost first, found by
    indentation (robust to the unfinished line a request sits on, which a parser may not be):
    each line above that is indented less than the block below it; a multi-line header's closing
    line (`) {`) stands for the line its bracket opened on."""
    line_start = _line_start(text, floor, offset)
    indent = _indentation(text[line_start:offset]) if text[line_start:offset].strip() else offset - line_start
    headers: list[int] = []
    at = line_start
    while at > floor and indent > 0:
        start = _line_start(text, floor, at - 1)
        line = text[start : at - 1]
        at = start
        stripped = line.strip()
        if not stripped or stripped.startswith(("//", "#", "*", "/*", "--")) or _indentation(line) >= indent:
            continue
        if stripped[0] in ")]}":
            opened = _opening(text, start + _indentation(line), floor)
            if opened is None:
                break
            start = at = _line_start(text, floor, opened)
            line = text[start : text.find("\n", start)]
        headers.append(start)
        indent = _indentation(line)
    return headers


def bound_locally(text: str, offset: int, language: str) -> frozenset[str]:
    """The names the functions around the cursor bind: their parameters, and the declarations above
    the cursor in them. Empty for the languages not read."""
    patterns = _DECLARATIONS.get(language)
    if patterns is None:
        return frozenset()
    # Within `_BODY_REACH` of the cursor, whole lines: a minified line of megabytes reads as nothing.
    line_start = text.rfind("\n", max(offset - _BODY_REACH, 0), offset) + 1
    if not line_start and offset > _BODY_REACH:
        return frozenset()
    floor = max(offset - _BODY_REACH, 0)
    if floor:
        first = text.find("\n", floor, line_start)
        floor = first + 1 if first >= 0 else line_start
    headers = enclosing_headers(text, offset, floor)
    names: set[str] = set()
    for start in headers:
        names |= _parameters(text, start, offset)
    body = text[headers[-1] if headers else line_start : offset]
    above = body[: body.rfind("\n") + 1]
    for pattern in patterns:
        # The line being written binds nothing yet (`x = f(`), but an arrow's parameters on it do.
        source = body if pattern in _INLINE else above
        for found in pattern.findall(source):
            # A parameter group's types are no names it binds: read it as a parameter list.
            names.update(_PARAMETER.findall(f"({found})") if pattern in _GROUPS else _WORDS.findall(found))
    return frozenset(names)
