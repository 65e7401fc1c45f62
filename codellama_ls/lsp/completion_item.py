"""A suggestion as a `textDocument/completion` item that each client inserts whole (pure).

Clients differ in what they do with an item, so its shape follows what the client said it supports:

- Neovim 0.11 inserts only the first run of non-blanks of a plain-text item's `textEdit.newText`
  (nothing at all for " add(a, b)"), but expands snippets whole: clients with `snippetSupport` get
  an escaped snippet in a `textEdit`; the others get plain `insertText` and no `textEdit`, which
  every client inserts whole in place of the word before the cursor (the item restates that word).
- Snippet engines (VS Code's, Neovim's `vim.snippet`) prepend the cursor line's indentation to
  every later line unless the item says `insertTextMode: asIs`, which only clients announcing
  `insertTextModeSupport` honour; Neovim's `complete()` does the same with plain text.  For those
  clients later lines are sent relative to the cursor line's indentation, and a suggestion is cut
  before a line indented less than it (no relative text can say that).
- Neovim's snippet expansion ignores the end of the range, so text after the cursor that the
  suggestion replaces (an auto-paired closer) is left out of the item instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types

LABEL_WIDTH = 80
# Clients whose plain-text insertion adds the cursor line's indentation to each new line.
_INDENTING_PLAIN_CLIENTS = frozenset({"Neovim"})


@dataclass(frozen=True)
class ItemCaps:
    """What shapes a completion item, from the client's capabilities."""

    snippets: bool = False
    as_is: bool = False  # the client honours insertTextMode asIs
    indents_plain_text: bool = False  # plain multi-line text gets the cursor line's indentation added

    @staticmethod
    def of(capabilities: types.ClientCapabilities | None, client_name: str | None = None) -> ItemCaps:
        completion = capabilities and capabilities.text_document and capabilities.text_document.completion
        item = completion and completion.completion_item
        modes = item and item.insert_text_mode_support
        default_as_is = bool(completion and completion.insert_text_mode == types.InsertTextMode.AsIs)
        return ItemCaps(
            snippets=bool(item and item.snippet_support),
            as_is=default_as_is or bool(modes and types.InsertTextMode.AsIs in modes.value_set),
            indents_plain_text=client_name in _INDENTING_PLAIN_CLIENTS,
        )


def escape_snippet(text: str) -> str:
    """`text` as a snippet that expands to exactly `text` (no tabstops, no variables)."""
    return text.replace("\\", "\\\\").replace("$", "\\$").replace("}", "\\}")


def relative_indentation(text: str, indent: str) -> str:
    """Later lines of `text` without the cursor line's `indent`; cut before a line indented less."""
    if not indent:
        return text
    lines = text.split("\n")
    kept = lines[:1]
    for line in lines[1:]:
        if line.startswith(indent):
            kept.append(line[len(indent) :])
        elif not line.strip():
            kept.append("")
        else:
            break
    while len(kept) > 1 and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept)


def _label(text: str) -> str:
    first = text.split("\n", 1)[0]
    if not first.strip():
        # Nothing on the cursor line: show where the text goes on.
        rest = next((line.strip() for line in text.split("\n") if line.strip()), "")
        first = "⏎ " + rest
    return first if len(first) <= LABEL_WIDTH else first[: LABEL_WIDTH - 1] + "…"


def completion_item(
    text: str,
    start: types.Position,
    cursor: types.Position,
    end: types.Position,
    *,
    replaced: str,
    indent: str,
    caps: ItemCaps,
) -> types.CompletionItem | None:
    """The item for suggestion `text` replacing `start`..`end`; None when no item can say it.

    `replaced` is the document text between `cursor` and `end`; `indent` the cursor line's leading
    whitespace.  `start` is at or before the cursor (the word the item restates).
    """
    if end != cursor:
        if not text.endswith(replaced):
            return None  # clients that ignore the range end would keep both
        text, end = text[: len(text) - len(replaced)], cursor
    shown = text
    if (caps.snippets and not caps.as_is) or (not caps.snippets and caps.indents_plain_text):
        text = relative_indentation(text, indent)
        # What the client will show in the buffer: the indentation it adds back.
        shown = text.replace("\n", "\n" + indent)
    if not text.strip():
        return None
    item = types.CompletionItem(
        label=_label(text),
        kind=types.CompletionItemKind.Text,
        detail="codellama-ls",
        documentation=types.MarkupContent(kind=types.MarkupKind.PlainText, value=shown),
        filter_text=text.split("\n", 1)[0],
        sort_text="0",
    )
    if caps.as_is:
        item.insert_text_mode = types.InsertTextMode.AsIs
    if caps.snippets:
        item.insert_text_format = types.InsertTextFormat.Snippet
        item.text_edit = types.TextEdit(range=types.Range(start, end), new_text=escape_snippet(text))
    else:
        item.insert_text_format = types.InsertTextFormat.PlainText
        item.insert_text = text
    return item
