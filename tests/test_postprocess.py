"""Completion unit, stop rules and cleanup."""

from __future__ import annotations

import pytest

from codellama_ls.postprocess import Stopper, Unit, clean, completion_unit


@pytest.mark.parametrize(
    "before,after,unit",
    [
        ("x = ", "", Unit.LINE),
        ("    ", "", Unit.BLOCK),
        ("", "", Unit.BLOCK),
        ("\t", "  ", Unit.BLOCK),
        ("", ")", Unit.LINE),
    ],
)
def test_completion_unit(before: str, after: str, unit: Unit) -> None:
    assert completion_unit(before, after) is unit


def feed_all(stopper: Stopper, text: str) -> str:
    for ch in text:
        if stopper.feed(ch):
            break
    return stopper.finish()


@pytest.mark.parametrize(
    "unit,indent,generated,expected",
    [
        (Unit.LINE, "", "foo(1)\nbar()\n", "foo(1)"),
        (Unit.LINE, "", "no newline", "no newline"),
        (Unit.BLOCK, "    ", "a = 1\n    b = 2\nc = 3\n", "a = 1\n    b = 2"),  # dedent ends the block
        (Unit.BLOCK, "    ", "a = 1\n\n\n    b = 2\n", "a = 1\n"),  # two blank lines end it
        (Unit.BLOCK, "", "1\n2\n3\n4\n5\n", "1\n2\n3"),  # max_lines = 3
        (Unit.BLOCK, "    ", "a = 1\n    b = 2", "a = 1\n    b = 2"),  # ends at EOT
        (Unit.BLOCK, "    ", "a = 1\nx", "a = 1"),  # a dedented last line is dropped at EOT
    ],
)
def test_stopper(unit: Unit, indent: str, generated: str, expected: str) -> None:
    assert feed_all(Stopper(unit, base_indent=indent, max_lines=3), generated) == expected


def test_block_stops_when_repeating_the_suffix() -> None:
    stopper = Stopper(Unit.BLOCK, base_indent="    ", max_lines=10, next_line="    return total")
    assert feed_all(stopper, "total += 1\n    return total\n") == "total += 1"


@pytest.mark.parametrize(
    "text,unit,after,indent,expected",
    [
        ("foo)  ", Unit.LINE, ")", "", "foo"),
        ("   ", Unit.LINE, "", "", ""),
        ("\n    x = 1\n    y = 2", Unit.BLOCK, "", "    ", "x = 1\n    y = 2"),
        ("x = 1\n\n", Unit.BLOCK, "", "", "x = 1"),
    ],
)
def test_clean(text: str, unit: Unit, after: str, indent: str, expected: str) -> None:
    assert clean(text, unit, after, indent) == expected
