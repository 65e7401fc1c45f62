"""Instruction actions on code: what they ask the model, and how its answer becomes an edit (pure).

An action works on a target: the selection, or the function around the cursor when nothing is
selected. The model answers in chat form; `clean_code` turns that answer into the text that
replaces the target (or, for tests, is appended to the document): the fenced code taken out of
the prose, lines it repeated from around the target dropped, its indentation moved to the
target's.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from enum import Enum

from codellama_ls.completion.block_rules import first_repeat
from codellama_ls.completion.postprocess import indentation
from codellama_ls.prompts.chat import Message


class ActionKind(str, Enum):
    EXPLAIN = "explain"
    DOCSTRING = "docstring"
    TESTS = "tests"
    EDIT = "edit"


TITLES = {
    ActionKind.EXPLAIN: "Code Llama: explain this code",
    ActionKind.DOCSTRING: "Code Llama: write the doc comment",
    ActionKind.TESTS: "Code Llama: generate tests",
    ActionKind.EDIT: "Code Llama: edit by instruction…",
}

# (doc comment convention, test framework) per language name of `languages.py`.
CONVENTIONS: dict[str, tuple[str, str]] = {
    "python": ("a PEP 257 docstring as the first statement of the body", "pytest"),
    "javascript": ("a JSDoc /** */ comment right above it", "Jest"),
    "typescript": ("a TSDoc /** */ comment right above it", "Jest"),
    "tsx": ("a TSDoc /** */ comment right above it", "Jest"),
    "go": ("a Go doc comment (// lines starting with its name) right above it", "the testing package"),
    "rust": ("/// doc comments right above it", "a #[cfg(test)] mod tests with #[test] functions"),
    "c": ("a Doxygen /** */ comment right above it", "plain assert() calls in a test function"),
    "cpp": ("a Doxygen /** */ comment right above it", "GoogleTest"),
    "java": ("a Javadoc /** */ comment right above it", "JUnit 5"),
    "lua": ("LuaLS --- annotation comments right above it", "busted"),
    "bash": ("# comment lines right above it", "bats"),
    "ruby": ("YARD # comments right above it", "RSpec"),
    "php": ("a PHPDoc /** */ comment right above it", "PHPUnit"),
    "csharp": ("/// XML doc comments right above it", "xUnit"),
}

SYSTEM = (
    "You are an expert {language} programmer working inside a code editor. "
    "When asked for code, answer with the code only, in one fenced code block, with no explanation."
)


@dataclass(frozen=True)
class Target:
    """What an action works on, as offsets into the document text."""

    start: int
    end: int
    text: str
    indent: str
    """The indentation of the target's first line."""
    at_line_start: bool
    """The target starts at the start of its line (its first line is re-indented too)."""
    before: str = ""
    """Up to a few lines of the document right before the target."""
    after: str = ""
    """Up to a few lines right after it."""


_CONTEXT_LINES = 3


def target_of(text: str, start: int, end: int, scope: tuple[int, int] | None = None) -> Target | None:
    """The selection [start, end), or the enclosing `scope` when it is empty; a selection that
    covers its lines from their indentation on is taken as whole lines. None when there is
    nothing to work on."""
    if start > end:
        start, end = end, start
    if start == end:
        if scope is None:
            return None
        start, end = scope
    if not text[start:end].strip():
        return None
    line_start = text.rfind("\n", 0, start) + 1
    at_line_start = not text[line_start:start].strip()
    if at_line_start:
        start = line_start
    line_end = text.find("\n", line_start)
    indent = indentation(text[line_start : len(text) if line_end < 0 else line_end])
    before_lines = text[:line_start].split("\n")[:-1][-_CONTEXT_LINES:]
    # The lines after the target start after the line it ends on (or at once, when it ends with a newline).
    last_line_end = end if end > start and text[end - 1] == "\n" else text.find("\n", end) + 1
    after_lines = text[last_line_end:].split("\n")[:_CONTEXT_LINES] if last_line_end > 0 else []
    return Target(
        start,
        end,
        text[start:end],
        indent,
        at_line_start,
        "\n".join(before_lines),
        "\n".join(after_lines),
    )


def messages_for(kind: ActionKind, target: Target, language: str, instruction: str = "") -> list[Message]:
    """The conversation that asks for `kind` on the target's code."""
    name = language or "code"
    doc, tests = CONVENTIONS.get(language, ("the language's usual doc comment", "the usual test framework"))
    code = _dedent(target.text if target.at_line_start else target.indent + target.text).rstrip("\n")
    block = f"```{language}\n{code}\n```"
    if kind is ActionKind.EXPLAIN:
        user = f"Explain what this {name} code does, briefly, in Markdown.\n\n{block}"
    elif kind is ActionKind.DOCSTRING:
        user = (
            f"Write the documentation of this {name} code as {doc}; if it has one, update it. "
            f"Return the whole code with its documentation, otherwise unchanged.\n\n{block}"
        )
    elif kind is ActionKind.TESTS:
        user = f"Write unit tests for this {name} code with {tests}. Return only the test code.\n\n{block}"
    else:
        user = (
            f"{instruction.strip()}\n\nApply this to the following {name} code and return the changed code.\n\n{block}"
        )
    return [Message("system", SYSTEM.format(language=name)), Message("user", user)]


_FENCE = re.compile(r"^[ \t]*(```+|~~~+)[^\n`]*$", re.MULTILINE)


def extract_code(answer: str) -> str:
    """The code in an answer: its longest fenced block, the text after an unclosed fence, or the
    whole answer when it has no fence."""
    fences = list(_FENCE.finditer(answer))
    if not fences:
        return answer
    blocks: list[str] = []
    i = 0
    while i < len(fences):
        opening = fences[i]
        marker = opening.group(1)
        closing = next((f for f in fences[i + 1 :] if f.group(1).startswith(marker[:3])), None)
        body_start = opening.end() + 1
        if closing is None:
            blocks.append(answer[body_start:])
            break
        blocks.append(answer[body_start : closing.start()])
        i = fences.index(closing) + 1
    return max(blocks, key=len)


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _meaningful(line: str) -> bool:
    # A lone "}" or "end" repeated after the target may be the answer's own closer.
    return any(ch.isalnum() for ch in line)


def drop_repeated_context(code: str, before: str, after: str) -> str:
    """Lines at the start of `code` that repeat the lines right before the target, and at its end
    that repeat those right after it (models like to restate their surroundings)."""
    lines = _lines(code)
    above = [line.strip() for line in _lines(before) if line.strip()]
    below = [line.strip() for line in _lines(after) if line.strip()]
    for k in range(min(len(above), len(lines) - 1), 0, -1):
        head = [line.strip() for line in lines[:k]]
        if head == above[-k:] and any(_meaningful(line) for line in head):
            lines = lines[k:]
            break
    for k in range(min(len(below), len(lines) - 1), 0, -1):
        tail = [line.strip() for line in lines[-k:]]
        if tail == below[:k] and any(_meaningful(line) for line in tail):
            lines = lines[:-k]
            break
    return "\n".join(lines)


def _dedent(text: str) -> str:
    lines = _lines(text)
    indents = [indentation(line) for line in lines if line.strip()]
    if not indents:
        return text
    common = indents[0]
    for indent in indents[1:]:
        while not indent.startswith(common):
            common = common[:-1]
    return "\n".join(line[len(common) :] if line.strip() else "" for line in lines)


def _indent_unit(lines: list[str]) -> int | None:
    """The smallest indentation step of space-indented lines; None when nothing is indented."""
    widths = sorted({len(indentation(line)) for line in lines if line.strip() and "\t" not in indentation(line)})
    steps = {b - a for a, b in itertools.pairwise(widths)} | ({widths[0]} if widths and widths[0] else set())
    return min(steps) if steps else None


def _rescale(lines: list[str], unit: int, wanted: int) -> list[str]:
    """Space indentation in steps of `unit` turned into steps of `wanted`."""
    out = []
    for line in lines:
        lead = indentation(line)
        width = len(lead)
        if "\t" in lead or width % unit:
            out.append(line)
        else:
            out.append(" " * (width // unit * wanted) + line[width:])
    return out


def reindent(code: str, target: Target, uses_tabs: bool) -> str:
    """`code` moved to the target's indentation, in the target's indentation step; spaces become
    tabs in a tab-indented target."""
    lines = _lines(_dedent(code))
    unit = _indent_unit(lines)
    if uses_tabs:
        step = unit or 4
        converted = []
        for line in lines:
            lead = indentation(line)
            width = len(lead.expandtabs(step))
            converted.append("\t" * (width // step) + " " * (width % step) + line[len(lead) :])
        lines = converted
    else:
        context = _lines(_dedent(target.before + "\n" + target.indent + target.text + "\n" + target.after))
        wanted = _indent_unit(context)
        if unit and wanted and unit != wanted:
            lines = _rescale(lines, unit, wanted)
    out = []
    for index, line in enumerate(lines):
        if not line.strip():
            out.append("")
        elif index == 0 and not target.at_line_start:
            out.append(line)
        else:
            out.append(target.indent + line)
    return "\n".join(out)


def clean_code(answer: str, target: Target, kind: ActionKind = ActionKind.EDIT) -> str:
    """The model's answer as the text for the target's place (tests: for the end of the file)."""
    code = extract_code(answer).strip("\n")
    # Trailing spaces the model left on its lines are noise in a diff.
    code = "\n".join(line.rstrip() for line in _lines(code))
    if kind is not ActionKind.TESTS:
        code = drop_repeated_context(code, target.before, target.after).strip("\n")
    uses_tabs = any(line.startswith("\t") for line in _lines(target.text)) or target.indent.startswith("\t")
    if kind is ActionKind.TESTS:
        base = Target(0, 0, "", "", True)
        code = reindent(code, base, uses_tabs)
    else:
        code = reindent(code, target, uses_tabs)
    if target.text.endswith("\n"):
        code += "\n"
    return code


def placement_of_tests(document: str, tests: str, language: str) -> tuple[int, int, str]:
    """Where generated tests go (after the last line of the document, one or two blank lines
    below it) as the range [start, end) they replace and the text."""
    body = document.rstrip("\n")
    gap = ("\n\n\n" if language == "python" else "\n\n") if body else ""
    return len(body), len(document), gap + tests.rstrip("\n") + "\n"


_COMMENT_LINES = 20
_CODE_CONTEXT_LINES = 40


@dataclass(frozen=True)
class CommentRequest:
    """An empty line right below a comment: the comment asks for code."""

    comment: str
    """The comment's text, markers included."""
    context: str
    """Code above the comment."""
    target: Target
    """The cursor, as an empty target carrying the line's indentation."""


def comment_request(text: str, offset: int, line_comment: str | None, block_end: str | None) -> CommentRequest | None:
    """A request for code when the cursor is on a blank line whose line above ends a comment
    (a run of line comments, or a block comment's last line); None otherwise."""
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line = text[line_start : len(text) if line_end < 0 else line_end]
    if line.strip() or line_start == 0:
        return None
    above = text[: line_start - 1].split("\n")
    comment: list[str] = []
    if line_comment:
        while above and above[-1].strip().startswith(line_comment) and len(comment) < _COMMENT_LINES:
            comment.insert(0, above.pop())
    if not comment and block_end and above and above[-1].rstrip().endswith(block_end):
        while above and len(comment) < _COMMENT_LINES:
            comment.insert(0, above.pop())
            if comment[0].strip().startswith(("/*", "--[[", "=begin")):
                break
    words = "".join(ch for ch in "\n".join(comment) if ch.isalpha())
    if len(words) < 3:  # a bare marker or a separator line says nothing
        return None
    indent = indentation(comment[0])
    context = "\n".join(above[-_CODE_CONTEXT_LINES:])
    # The code above shows the file's indentation step; its last lines are the comment the answer may repeat.
    before = context + "\n" + "\n".join(comment)
    target = Target(offset, offset, "", indent, False, before, text[offset:].lstrip("\n")[:200])
    return CommentRequest("\n".join(line.strip() for line in comment), context, target)


def comment_messages(request: CommentRequest, language: str) -> list[Message]:
    name = language or "code"
    context = (
        f"The code before it:\n```{language}\n{request.context.strip()}\n```\n\n" if request.context.strip() else ""
    )
    user = (
        f"{context}Write the {name} code that this comment describes, to go right below it. "
        f"Return only that code, without the comment.\n\n{request.comment}"
    )
    return [Message("system", SYSTEM.format(language=name)), Message("user", user)]


def clean_generated(answer: str, request: CommentRequest, cursor_indent: str) -> str:
    """The answer as text to insert at the cursor: the first line goes after the indentation the
    cursor already has, the others get the comment's indentation."""
    code = extract_code(answer).strip("\n")
    code = "\n".join(line.rstrip() for line in _lines(code))
    code = drop_repeated_context(code, request.target.before, "").strip("\n")
    lines = _lines(code)
    kept = first_repeat(lines)
    if kept is not None:  # the same block twice: the model lost its place
        code = "\n".join(lines[:kept]).rstrip("\n")
    uses_tabs = request.target.indent.startswith("\t")
    code = reindent(code, request.target, uses_tabs)
    if cursor_indent != request.target.indent and code:
        # The cursor sits after its own line's whitespace: make the first line's indentation the comment's.
        first, _, rest = code.partition("\n")
        code = request.target.indent[len(cursor_indent) :] + first + ("\n" + rest if rest else "")
    return code
