"""What each action may change, checked on its answer before anything is applied (pure: parses
with tree-sitter).

What an action may do is known in advance, whatever the model writes: the doc comment adds a
comment (a docstring in Python) where the language puts it and leaves every code token of its
target as it was; generated tests are new code below the document and never a second definition
of what they test; an explanation never edits; an edit by instruction stays inside its target.
`breach` says what an answer tried to do that its action may not; the answer is then refused.
Code tokens are the tree's leaves outside comments (and outside docstrings, in Python).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import tree_sitter

from codellama_ls.actions.instructions import ActionKind
from codellama_ls.documents.languages import LanguageSpec, new_parser

_parsers: dict[str, tree_sitter.Parser | None] = {}
# Past this size only the lines around the edit are parsed (bytes on each side of it).
_WHOLE = 262_144
_MARGIN = 16_384
_SHOWN = 70


def _parser(spec: LanguageSpec) -> tree_sitter.Parser | None:
    # One parser per language; only the engine thread (or a test) checks answers.
    if spec.name not in _parsers:
        _parsers[spec.name] = new_parser(spec)
    return _parsers[spec.name]


@dataclass(frozen=True)
class Token:
    kind: str
    text: bytes
    row: int


@dataclass(frozen=True)
class Doc:
    text: bytes
    above_code: bool
    """It ends before the range's first code token."""
    docstring: bool


@dataclass
class _Parsed:
    """What the tree says about the bytes [start, end) of a source."""

    code: list[Token]
    docs: list[Doc]
    """Comments, and docstrings in Python."""
    definitions: list[str]
    """Names of the outermost definitions (functions, methods, classes) that start in the range."""
    nested: list[str]
    """Names of every definition that starts in the range, the nested ones too."""


def _is_comment(node: tree_sitter.Node) -> bool:
    return "comment" in node.type


def _is_docstring(node: tree_sitter.Node) -> bool:
    """A Python string statement first in a module, class or function body."""
    if node.type != "expression_statement" or node.named_child_count != 1:
        return False
    if node.named_children[0].type not in ("string", "concatenated_string"):
        return False
    parent = node.parent
    if parent is None or parent.named_children[0] != node:
        return False
    if parent.type == "module":
        return True
    owner = parent.parent
    return parent.type == "block" and owner is not None and owner.type in ("function_definition", "class_definition")


_DEFINITION = re.compile(r"(function|method|class|struct|impl|constructor)_?(definition|declaration|item)?$")


def _definition_name(node: tree_sitter.Node) -> str | None:
    if not _DEFINITION.search(node.type) or "call" in node.type:
        return None
    name = node.child_by_field_name("name")
    declarator = node.child_by_field_name("declarator")
    # C and C++: the name is at the bottom of the declarators.
    while name is None and declarator is not None:
        if declarator.type in ("identifier", "field_identifier", "qualified_identifier"):
            name = declarator
            break
        declarator = declarator.child_by_field_name("declarator")
    if name is None or name.text is None:
        return None
    return name.text.decode("utf-8", "replace")


def _walk(root: tree_sitter.Node, start: int, end: int, python: bool) -> _Parsed:
    parsed = _Parsed([], [], [], [])

    def visit(node: tree_sitter.Node, in_definition: bool) -> None:
        if node.end_byte <= start or node.start_byte >= end:
            return
        docstring = python and _is_docstring(node)
        if docstring or _is_comment(node):
            if node.start_byte >= start:
                parsed.docs.append(Doc(node.text or b"", not parsed.code, docstring))
            return
        name = _definition_name(node)
        if name is not None and node.start_byte >= start:
            parsed.nested.append(name)
            if not in_definition:
                parsed.definitions.append(name)
        if node.child_count == 0:
            if node.start_byte >= start and node.end_byte <= end and (node.text or node.is_missing):
                parsed.code.append(Token(node.type, node.text or b"", node.start_point[0]))
            return
        for child in node.children:
            visit(child, in_definition or (name is not None and node.start_byte >= start))

    visit(root, False)
    return parsed


def _parse(spec: LanguageSpec, text: str, start: int, end: int) -> tuple[_Parsed, list[str]] | None:
    """The tree's view of text[start:end] (str offsets), parsed with the lines around it; and the
    lines of what was parsed, to quote. None without a grammar."""
    parser = _parser(spec)
    if parser is None:
        return None
    low, high = 0, len(text)
    if len(text) > _WHOLE:
        low = text.rfind("\n", 0, max(start - _MARGIN, 0)) + 1
        found = text.find("\n", min(end + _MARGIN, len(text)))
        high = len(text) if found < 0 else found
    region = text[low:high]
    source = region.encode("utf-8")
    first = len(region[: start - low].encode("utf-8"))
    last = first + len(text[start:end].encode("utf-8"))
    tree = parser.parse(source)
    return _walk(tree.root_node, first, last, spec.name == "python"), region.split("\n")


def _quote(lines: list[str], row: int) -> str:
    line = lines[row].strip() if 0 <= row < len(lines) else ""
    return line if len(line) <= _SHOWN else line[: _SHOWN - 1] + "…"


def _changed_code(before: _Parsed, old_lines: list[str], after: _Parsed, new_lines: list[str]) -> str:
    """What changed between two code token streams, quoted by line; empty when nothing did."""
    old = [(t.kind, t.text) for t in before.code]
    new = [(t.kind, t.text) for t in after.code]
    if old == new:
        return ""
    same = 0
    while same < min(len(old), len(new)) and old[same] == new[same]:
        same += 1
    tail = 0
    while tail < min(len(old), len(new)) - same and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    if same + tail == len(old):
        return f"it added code: `{_quote(new_lines, after.code[same].row)}`"
    if same + tail == len(new):
        return f"it removed code: `{_quote(old_lines, before.code[same].row)}`"
    was = _quote(old_lines, before.code[same].row)
    now = _quote(new_lines, after.code[same].row)
    return f"it changed code: `{was}` became `{now}`"


_TESTISH = re.compile(rb"(?i)test|assert|expect|describe|should|^it$|spec")


def breach(
    kind: ActionKind,
    spec: LanguageSpec | None,
    text: str,
    target: tuple[int, int],
    start: int,
    end: int,
    new_text: str,
) -> str:
    """Why replacing text[start:end] with `new_text` is not what `kind` may do on `target` (str
    offsets), said as what the answer tried to do; empty when the answer keeps the contract."""
    if kind is ActionKind.EXPLAIN:
        return "the explanation came with an edit, and explaining never changes the document"
    if kind is ActionKind.TESTS:
        return _tests_breach(spec, text, target, start, end, new_text)
    if not (target[0] <= start <= end <= target[1]):
        return "it would change code outside the code it was asked to work on"
    if kind is ActionKind.DOCSTRING:
        return _doc_breach(spec, text, start, end, new_text)
    return ""


def _doc_breach(spec: LanguageSpec | None, text: str, start: int, end: int, new_text: str) -> str:
    after_text = text[:start] + new_text + text[end:]
    before = _parse(spec, text, start, end) if spec is not None else None
    after = _parse(spec, after_text, start, start + len(new_text)) if spec is not None else None
    if spec is None or before is None or after is None:
        # No grammar: every line of the code must still be there, in order; only lines are added.
        lines = [line.strip() for line in text[start:end].split("\n") if line.strip()]
        left = iter(line.strip() for line in new_text.split("\n") if line.strip())
        if not all(any(line == candidate for candidate in left) for line in lines):
            return "the doc comment answer changed the code, not only its documentation"
        return ""
    (old, old_lines), (new, new_lines) = before, after
    changed = _changed_code(old, old_lines, new, new_lines)
    if changed:
        return f"the doc comment answer changed the code, not only its documentation: {changed}"
    kept = Counter(doc.text for doc in old.docs)
    added = []
    for doc in new.docs:
        if kept[doc.text] > 0:
            kept[doc.text] -= 1
        else:
            added.append(doc)
    if not added:
        return "the doc comment answer wrote no documentation"
    if spec.name == "python" and old.definitions:
        if not any(doc.docstring for doc in added):
            return "the doc comment answer wrote no docstring as the first statement of the body"
    elif not any(doc.above_code for doc in added):
        return "the doc comment answer put its comments inside the code instead of right above it"
    return ""


def _tests_breach(
    spec: LanguageSpec | None, text: str, target: tuple[int, int], start: int, end: int, new_text: str
) -> str:
    if text[start:end].strip():
        return "the tests answer would replace existing code instead of adding tests"
    if start < target[1] and end > target[0]:
        return "the tests answer would rewrite the code under test"
    if spec is None:
        return ""
    tested = _parse(spec, text, target[0], target[1])
    after_text = text[:start] + new_text + text[end:]
    added = _parse(spec, after_text, start, start + len(new_text))
    if tested is None or added is None:
        return ""
    names = set(tested[0].definitions)
    # Nested too: a copy of the class around a tested method defines the method again.
    again = [name for name in added[0].nested if name in names]
    if again:
        return (
            f"the tests answer defines `{again[0]}` again, which would replace the code under test, "
            "instead of testing it"
        )
    if not added[0].code:
        return "the tests answer has no code"
    if not any(_TESTISH.search(token.text) for token in added[0].code):
        return "the tests answer has no test in it (no test function, assertion or expectation)"
    return ""
