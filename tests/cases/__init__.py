"""Per-language completion cases: a document with a cursor, what the model produced, what the editor gets.

A case is `Case(source, raw, expected, replace=0, invoked=True)`:
- `source` marks the cursor with █;
- `raw` is the text the (scripted) model generates;
- `expected` is the inline item's insertText ("" means no item);
- `replace` is how many characters right of the cursor the item's range covers (auto-paired closers).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    source: str
    raw: str
    expected: str
    replace: int = 0
    invoked: bool = True
    id: str = ""
