"""The next suggestion before it is asked for (pure).

When an edit inserts exactly the suggestion on screen, the user accepted it and will
want the next one at the new cursor: the session starts it at once, in the background.
Detecting the accept from the text (not from a client command) works with every editor,
whether it inserted the suggestion whole, restated the word before it, or let the user
take it piece by piece. A prefetch in flight is an ordinary request: the first keystroke
that does not type along with it cancels it (`Flight.continues`); a finished one answers
only a request at the very place it was made, with the text unchanged (`Prefetched`).
"""

from __future__ import annotations

from dataclasses import dataclass

from codellama_ls.completion.reuse import Anchor, Shown


def accepted_at(shown: Shown, text: str) -> int | None:
    """The cursor after the accept when `text` is the text `shown` was made for with the whole
    suggestion inserted at its anchor (replacing the `replace_after` closers); else None."""
    anchor = shown.anchor
    head, suffix_length = anchor.suffix
    rest = suffix_length - shown.replace_after
    cursor = len(text) - rest
    if rest < 0 or cursor - anchor.offset != len(shown.text) or not shown.text:
        return None  # the cheap test first: every keystroke runs this
    if text[anchor.offset : cursor] != shown.text:
        return None
    if text[cursor : cursor + len(head) - shown.replace_after] != head[shown.replace_after :]:
        return None
    if hash(text[: anchor.offset]) != anchor.prefix_hash:
        return None
    return cursor


@dataclass(frozen=True)
class Prefetched:
    """A finished prefetch, kept for the editor's request at the same place."""

    anchor: Anchor
    text: str
    replace_after: int = 0

    def answer(self, text: str, offset: int) -> str | None:
        """The suggestion when nothing changed since it was made; type-through covers the rest."""
        return self.text if self.text and self.anchor.typed(text, offset) == "" else None
