"""Old region against new: minimal edits, applied back, and predictions that undo the last edit."""

from __future__ import annotations

import pytest

from codellama_ls.nextedit.diff import RegionEdit, apply_edits, minimal_edits, undoes
from codellama_ls.nextedit.history import Hunk

EDITS: list[tuple[str, str, str, list[RegionEdit]]] = [
    ("nothing", "a\nb\n", "a\nb\n", []),
    ("a word inserted", "return subtotal * rate\n", "return subtotal * tax_rate\n", [RegionEdit(18, 18, "tax_")]),
    ("a word replaced", "x = foo(1)\n", "x = bar(1)\n", [RegionEdit(4, 7, "bar")]),
    ("a line added", "a\nc\n", "a\nb\nc\n", [RegionEdit(2, 2, "b\n")]),
    ("a line removed", "a\nb\nc\n", "a\nc\n", [RegionEdit(2, 4, "")]),
    (
        "two lines apart",
        "f(rate)\nx\ny\ng(rate)\n",
        "f(tax_rate)\nx\ny\ng(tax_rate)\n",
        [RegionEdit(2, 2, "tax_"), RegionEdit(14, 14, "tax_")],
    ),
    ("no final newline", "a = 1", "a = 2", [RegionEdit(4, 5, "2")]),
    ("unicode", "s = 'é'\n", "s = 'ü'\n", [RegionEdit(5, 6, "ü")]),
    ("CRLF lines", "a\r\nb\r\n", "a\r\nB\r\n", [RegionEdit(3, 4, "B")]),
]


@pytest.mark.parametrize(("old", "new", "expected"), [c[1:] for c in EDITS], ids=[c[0] for c in EDITS])
def test_minimal_edits(old: str, new: str, expected: list[RegionEdit]) -> None:
    edits = minimal_edits(old, new)
    assert edits == expected
    assert apply_edits(old, edits) == new


LAST = Hunk("a.py", 0, ("def total(prices, rate):",), ("def total(prices, tax_rate):",))
NOW = "def total(prices, tax_rate):\n    return prices * rate\n"

UNDOES: list[tuple[str, Hunk, str, bool]] = [
    ("the rename taken back", LAST, "def total(prices, rate):\n    return prices * rate\n", True),
    ("part of it taken back", LAST, "def total(prices, ax_rate):\n    return prices * rate\n", True),
    ("another change on the line", LAST, "def total(prices, tax_rate=1):\n    return prices * rate\n", False),
    ("only other lines", LAST, "def total(prices, tax_rate):\n    return 0\n", False),
    ("the use renamed too", LAST, "def total(prices, tax_rate):\n    return prices * tax_rate\n", False),
    ("the new name replaced", LAST, "def total(prices, rate, x):\n    return prices * rate\n", True),
    ("an added line removed", Hunk("a.py", 1, (), ("    x = 1",)), "a\nb\n", True),
]


@pytest.mark.parametrize(("last", "after", "expected"), [c[1:] for c in UNDOES], ids=[c[0] for c in UNDOES])
def test_undoes_the_last_edit(last: Hunk, after: str, expected: bool) -> None:
    before = NOW if last is LAST else "a\n    x = 1\nb\n"
    assert undoes(last, before, after) is expected
