"""The completion item each kind of client inserts whole (codellama_ls/lsp/completion_item.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from lsprotocol import types

from codellama_ls.lsp.completion_item import ItemCaps, completion_item, escape_snippet, relative_indentation
from tests.support.lsp_support import client_capabilities

P = types.Position
SNIPPETS = ItemCaps(snippets=True)  # Neovim 0.11 by default
SNIPPETS_AS_IS = ItemCaps(snippets=True, as_is=True)  # VS Code
PLAIN = ItemCaps()  # Eglot without yasnippet
NEOVIM_PLAIN = ItemCaps(indents_plain_text=True)  # Neovim with snippetSupport turned off


@dataclass(frozen=True)
class Case:
    name: str
    caps: ItemCaps
    text: str
    indent: str = ""
    start: tuple[int, int] = (0, 7)
    end: tuple[int, int] = (0, 7)
    replaced: str = ""
    # What the item carries: (format, text in textEdit or insertText, textEdit range or None).
    expected: tuple[types.InsertTextFormat, str, tuple[tuple[int, int], tuple[int, int]] | None] | None = None


CURSOR = (0, 7)
CASES = [
    Case(
        "snippet after 'total ='",
        SNIPPETS,
        " add(width, height)",
        expected=(types.InsertTextFormat.Snippet, " add(width, height)", ((0, 7), (0, 7))),
    ),
    Case(
        "plain text after 'total =': insertText, no textEdit",
        PLAIN,
        " add(width, height)",
        expected=(types.InsertTextFormat.PlainText, " add(width, height)", None),
    ),
    Case(
        "snippet characters escaped",
        SNIPPETS,
        ' f"${a}" \\ $0',
        expected=(types.InsertTextFormat.Snippet, ' f"\\${a\\}" \\\\ \\$0', ((0, 7), (0, 7))),
    ),
    Case(
        "plain text is not escaped",
        PLAIN,
        ' f"${a}"',
        expected=(types.InsertTextFormat.PlainText, ' f"${a}"', None),
    ),
    Case(
        "two lines in a block, snippet engine adds the indentation back",
        SNIPPETS,
        "return x\n    return y",
        indent="    ",
        expected=(types.InsertTextFormat.Snippet, "return x\nreturn y", ((0, 7), (0, 7))),
    ),
    Case(
        "two lines in a block, client honours asIs",
        SNIPPETS_AS_IS,
        "return x\n    return y",
        indent="    ",
        expected=(types.InsertTextFormat.Snippet, "return x\n    return y", ((0, 7), (0, 7))),
    ),
    Case(
        "two lines in a block, plain text inserted as is",
        PLAIN,
        "return x\n    return y",
        indent="    ",
        expected=(types.InsertTextFormat.PlainText, "return x\n    return y", None),
    ),
    Case(
        "two lines in a block, Neovim's plain text is indented like typing",
        NEOVIM_PLAIN,
        "return x\n    return y",
        indent="    ",
        expected=(types.InsertTextFormat.PlainText, "return x\nreturn y", None),
    ),
    Case(
        "a line indented less than the cursor line ends the item",
        SNIPPETS,
        "y = 1\n        z = 2\n\nprint(y)",
        indent="    ",
        expected=(types.InsertTextFormat.Snippet, "y = 1\n    z = 2", ((0, 7), (0, 7))),
    ),
    Case(
        "blank lines inside stay blank",
        SNIPPETS,
        "a\n\n    b",
        indent="    ",
        expected=(types.InsertTextFormat.Snippet, "a\n\nb", ((0, 7), (0, 7))),
    ),
    Case(
        "the restated word starts the range",
        SNIPPETS,
        "return total",
        start=(0, 4),
        expected=(types.InsertTextFormat.Snippet, "return total", ((0, 4), (0, 7))),
    ),
    Case(
        "a replaced closer is left out and the range ends at the cursor",
        SNIPPETS,
        "a, b)",
        end=(0, 8),
        replaced=")",
        expected=(types.InsertTextFormat.Snippet, "a, b", ((0, 7), (0, 7))),
    ),
    Case(
        "a replaced closer, plain text",
        PLAIN,
        "a, b)",
        end=(0, 8),
        replaced=")",
        expected=(types.InsertTextFormat.PlainText, "a, b", None),
    ),
    Case("replaced text the suggestion does not end with: no item", SNIPPETS, "a, b", end=(0, 8), replaced=")"),
    Case("nothing left after the cut: no item", SNIPPETS, "\nx", indent="    "),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_item_shape(case: Case) -> None:
    item = completion_item(
        case.text,
        P(*case.start),
        P(*CURSOR),
        P(*case.end),
        replaced=case.replaced,
        indent=case.indent,
        caps=case.caps,
    )
    if case.expected is None:
        assert item is None
        return
    assert item is not None
    fmt, text, rng = case.expected
    assert item.insert_text_format == fmt
    if rng is None:
        assert item.text_edit is None and item.insert_text == text
    else:
        assert item.text_edit == types.TextEdit(types.Range(P(*rng[0]), P(*rng[1])), text)
    assert item.insert_text_mode == (types.InsertTextMode.AsIs if case.caps.as_is else None)
    assert item.label and "\n" not in item.label and len(item.label) <= 80
    assert item.filter_text is not None and "\n" not in item.filter_text


def test_label_of_a_suggestion_that_starts_a_new_line() -> None:
    item = completion_item("\n    pass", P(0, 7), P(0, 7), P(0, 7), replaced="", indent="", caps=PLAIN)
    assert item is not None and item.label == "⏎ pass"


def test_escaped_snippet_round_trips() -> None:
    text = "a$b}c\\d${1:x}"
    escaped = escape_snippet(text)
    # Undo the escapes as a snippet parser does: a backslash takes the next character literally.
    out, i = [], 0
    while i < len(escaped):
        if escaped[i] == "\\":
            i += 1
        out.append(escaped[i])
        i += 1
    assert "".join(out) == text


def test_relative_indentation_without_indent_is_identity() -> None:
    assert relative_indentation("a\n  b\nc", "") == "a\n  b\nc"


@pytest.mark.parametrize(
    ("client", "name", "expected"),
    [
        ("visual-studio-code", "Visual Studio Code", ItemCaps(snippets=True, as_is=True)),
        ("neovim", "Neovim", ItemCaps(snippets=True, indents_plain_text=True)),
        ("emacs", "Eglot", ItemCaps()),
    ],
)
def test_caps_from_recorded_clients(client: str, name: str, expected: ItemCaps) -> None:
    try:
        caps = client_capabilities(client)
    except ValueError as exc:  # the recorded set differs between pytest-lsp versions
        pytest.skip(f"no recorded capabilities for {client}: {exc}")
    assert ItemCaps.of(caps, name) == expected


def test_caps_of_nothing() -> None:
    assert ItemCaps.of(None) == ItemCaps()
    assert ItemCaps.of(types.ClientCapabilities()) == ItemCaps()
