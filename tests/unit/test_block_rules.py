"""Where a block suggestion may end: openers without a body, blocks written twice (pure)."""

from __future__ import annotations

import pytest

from codellama_ls.completion.block_rules import drop_open_end, first_repeat, opens_body, repeat_end
from codellama_ls.completion.postprocess import STOP_REPEATED_BLOCK, Stopper, Unit


@pytest.mark.parametrize(
    ("language", "line", "opens"),
    [
        ("python", "    def contains(self, point):", True),
        ("python", "if x:  # the usual case", True),
        ("python", "d = {'a': 1}", False),
        ("python", "if x: return 1", False),
        ("python", "s = 'ends with:'", False),
        ("javascript", "if (x) {", True),
        ("javascript", "} else {  // otherwise", True),
        ("javascript", "const o = {};", False),
        ("go", "for i := 0; i < n; i++ {", True),
        ("c", 'puts("{");', False),
        ("lua", "if x then", True),
        ("lua", "for i = 1, 3 do", True),
        ("lua", "local function f(a)", True),
        ("lua", "local g = function(a) return a end", False),
        ("ruby", "def area", True),
        ("ruby", "items.each do |item|", True),
        ("ruby", "if x then y end", False),
        ("ruby", "return 1 if x", False),
        ("bash", "if [ -f x ]; then", True),
        ("bash", 'case "$1" in', True),
        ("bash", "echo done", False),
        ("markdown", "Title:", False),
    ],
)
def test_openers_per_language(language: str, line: str, opens: bool) -> None:
    assert opens_body(line, language) is opens


def test_trailing_openers_and_blank_lines_are_dropped() -> None:
    text = "x = 1\n\n    def f(self):\n        if x:"
    assert drop_open_end(text, "python") == "x = 1"


def test_an_opener_with_its_body_below_in_the_document_stays() -> None:
    assert drop_open_end("for x in xs:", "python", ["        print(x)"], indent="    ") == "for x in xs:"
    assert drop_open_end("for x in xs:", "python", ["    print(x)"], indent="    ") == ""


def test_a_block_followed_by_its_copy_keeps_the_first() -> None:
    lines = ["for x in xs:", "    if x:", "        f(x)", "for x in xs:", "    if x:", "        f(x)"]
    assert repeat_end(lines) == 3
    assert first_repeat([*lines, "tail()"]) == 3
    # Two different blocks, or one line twice (the line rules' business), are no repeat here.
    assert repeat_end(["a = 1", "b = 2", "a = 1", "c = 2"]) is None
    assert first_repeat(["}", "}", "}", "}"]) is None


def test_a_copy_shifted_as_a_whole_is_a_repeat_but_one_reshaped_is_not() -> None:
    shifted = ["if x:", "    f(x)", "    if x:", "        f(x)"]
    assert repeat_end(shifted) == 2
    reshaped = ["a:", "    b()", "    a:", "    b()"]
    assert repeat_end(["z()", *reshaped]) is None


def test_the_stopper_ends_a_block_at_the_end_of_its_first_copy() -> None:
    stopper = Stopper(Unit.BLOCK, base_indent="    ")
    block = "for x in xs:\n        if x:\n            print(x)\n"
    done = False
    for ch in block + "    " + block + "    return 1\n":
        done = stopper.feed(ch)
        if done:
            break
    assert done and stopper.reason == STOP_REPEATED_BLOCK
    assert stopper.text == block.rstrip("\n")
