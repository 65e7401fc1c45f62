"""Completion unit, stop rules and cleanup."""

from __future__ import annotations

import pytest

from codellama_ls.completion.postprocess import (
    IndentStyle,
    Stopper,
    Unit,
    clean,
    closers_for,
    completion_unit,
    detect_indent,
    loop_start,
    should_trigger,
)


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
    "unit,indent,generated,expected,reason",
    [
        (Unit.LINE, "", "foo(1)\nbar()\n", "foo(1)", "end_of_line"),
        (Unit.LINE, "", "no newline", "no newline", ""),  # the engine's reason (eot, max_tokens) stands
        (Unit.BLOCK, "    ", "a = 1\n    b = 2\nc = 3\n", "a = 1\n    b = 2", "dedent"),
        (Unit.BLOCK, "    ", "a = 1\n\n\n    b = 2\n", "a = 1\n", "blank_lines"),
        (Unit.BLOCK, "", "1\n2\n3\n4\n5\n", "1\n2\n3", "max_lines"),  # max_lines = 3
        (Unit.BLOCK, "    ", "a = 1\n    b = 2", "a = 1\n    b = 2", ""),  # ends at EOT
        (Unit.BLOCK, "    ", "a = 1\nx", "a = 1", ""),  # a dedented last line is dropped at EOT
    ],
)
def test_stopper(unit: Unit, indent: str, generated: str, expected: str, reason: str) -> None:
    stopper = Stopper(unit, base_indent=indent, max_lines=3)
    assert feed_all(stopper, generated) == expected
    assert stopper.reason == reason


@pytest.mark.parametrize(
    "generated,expected,reason",
    [
        ("\n    return s\n    x", "\n    return s", "end_of_line"),  # the line ended at once: the next one
        ("\n\n    return s\n", "\n\n    return s", "end_of_line"),  # across one blank line
        ("\n\n\n    return s\n", "", "blank_lines"),
        ("(1)\n    return s\n", "(1)", "end_of_line"),  # the cursor line goes on: only it
        ("\n    return s", "\n    return s", ""),  # EOT
    ],
)
def test_a_line_at_its_end_goes_on_below(generated: str, expected: str, reason: str) -> None:
    stopper = Stopper(Unit.LINE, below=True)
    assert feed_all(stopper, generated) == expected
    assert stopper.reason == reason
    assert feed_all(Stopper(Unit.LINE), generated) == generated[: generated.find("\n")]  # text right of it


def test_a_next_line_suggestion_is_cleaned_like_a_line() -> None:
    assert clean("\n    return s", Unit.LINE, "", "    ", line_before="    s = a").text == "\n    return s"
    # The document already has that line below: nothing to add.
    following = ["    return s", ""]
    assert clean("\n    return s", Unit.LINE, "", "    ", line_before="    s = a", following=following).text == ""


def test_block_stops_when_repeating_the_suffix() -> None:
    stopper = Stopper(Unit.BLOCK, base_indent="    ", max_lines=10, next_line="    return total")
    assert feed_all(stopper, "total += 1\n    return total\n") == "total += 1"
    assert stopper.reason == "repeats_following_code"


@pytest.mark.parametrize(
    "text,unit,after,indent,expected",
    [
        ("foo  ", Unit.LINE, "", "", "foo"),
        ("   ", Unit.LINE, "", "", ""),
        ("\n    x = 1\n    y = 2", Unit.BLOCK, "", "    ", "x = 1\n    y = 2"),
        ("x = 1\n\n", Unit.BLOCK, "", "", "x = 1"),
        ("a\nb\nb\nb", Unit.BLOCK, "", "", "a\nb"),  # a repeated line is dropped
    ],
)
def test_clean(text: str, unit: Unit, after: str, indent: str, expected: str) -> None:
    assert clean(text, unit, after, indent).text == expected


def test_auto_paired_closers_are_replaced_not_duplicated() -> None:
    edit = clean("a, b)", Unit.LINE, ")", "", line_before="print(")
    assert (edit.text, edit.replace_after) == ("a, b)", 1)
    edit = clean("x]);", Unit.LINE, "]);  ", "", line_before="f([")
    assert (edit.text, edit.replace_after) == ("x]);", 3)


def test_overlap_with_rest_of_line_is_trimmed() -> None:
    edit = clean("value + other(x)", Unit.LINE, "other(x)", "", line_before="y = ")
    assert (edit.text, edit.replace_after) == ("value +", 0)


def test_leading_space_after_whitespace_is_dropped() -> None:
    assert clean(" return x", Unit.BLOCK, "", "    ", line_before="    ").text == "return x"
    assert clean(" 1", Unit.LINE, "", "", line_before="x =").text == " 1"


def test_lines_already_below_are_dropped() -> None:
    edit = clean(
        "x = 1\n    return x", Unit.BLOCK, "", "    ", line_before="    ", following=["    return x", "", "f()"]
    )
    assert edit.text == "x = 1"


def test_indentation_follows_the_document() -> None:
    tabs = IndentStyle(tabs=True, width=4)
    assert clean("if a {\n        b()\n    }", Unit.BLOCK, "", "\t", style=tabs).text == "if a {\n\t\tb()\n\t}"
    spaces = IndentStyle(tabs=False, width=2)
    assert clean("if a:\n\tb()", Unit.BLOCK, "", "", style=spaces).text == "if a:\n  b()"


TABS, SPACES4, SPACES2 = IndentStyle(True, 4), IndentStyle(False, 4), IndentStyle(False, 2)


@pytest.mark.parametrize(
    "line_before,generated,style,expected",
    [
        # Column 0 of an empty line in a Go block: the model's spaces become the file's tabs.
        ("", "        total += x", TABS, "\t\ttotal += x"),
        ("", "       total += x", TABS, "\t\ttotal += x"),  # a space short of two levels
        ("", "        total += x\n        n++", TABS, "\t\ttotal += x\n\t\tn++"),
        ("\t", "    total += x", TABS, "\ttotal += x"),  # after the line's own tab
        ("\t\t", "total += x", TABS, "total += x"),  # already at the indentation
        ("", "\t\ttotal += x", SPACES4, "        total += x"),  # tabs in a space-indented file
        ("  ", "\tx = 1", SPACES2, "  x = 1"),
        ("", "    return x", SPACES4, "    return x"),  # already right: unchanged
        ("    ", " return x", SPACES4, "return x"),  # a SentencePiece space after the indentation
        ("x = ", "  y", SPACES4, " y"),  # mid-line: never re-indented
    ],
)
def test_first_line_follows_the_document_indentation(
    line_before: str, generated: str, style: IndentStyle, expected: str
) -> None:
    cursor_indent = line_before if not line_before.strip() else ""
    edit = clean(generated, Unit.BLOCK, "", cursor_indent, line_before=line_before, style=style)
    assert edit.text == expected


@pytest.mark.parametrize(
    "text,style",
    [
        ("def f():\n    return 1\n", IndentStyle(False, 4)),
        ("function f() {\n  return 1;\n}\n", IndentStyle(False, 2)),
        ("func f() {\n\treturn 1\n}\n", IndentStyle(True, 4)),
    ],
)
def test_detect_indent(text: str, style: IndentStyle) -> None:
    assert detect_indent(text) == style


@pytest.mark.parametrize("after,fires", [("", True), (")", True), ("  ]);", True), ("x)", False), (" foo", False)])
def test_should_trigger(after: str, fires: bool) -> None:
    assert should_trigger(after) is fires


def test_cut_to_line_keeps_whole_lines_of_a_block() -> None:
    stopper = Stopper(Unit.BLOCK, base_indent="", max_lines=10)
    stopper.feed("a = 1\nb = 2\nc =")
    stopper.cut_to_line()
    assert stopper.finish() == "a = 1\nb = 2"


@pytest.mark.parametrize(
    "text,closers",
    [
        ("if (x) {", "}"),
        ("foo(a, [1, {", "}])"),
        ("return function (obj) {\n  return f(obj, {", "})}"),
        ('s = "({[" + (', ")"),  # brackets in strings do not count
        ("a = `x ${b} {` + g(", ")"),
        ("x = 1; // (", ""),
        ("done()", ""),
        ("a)", None),  # closes what it did not open
        ("(]", None),
    ],
)
def test_closers_for(text: str, closers: str | None) -> None:
    assert closers_for(text) == closers


@pytest.mark.parametrize(
    "line,kept",
    [
        ("x = path.glob.glob.glob.glob.glob", "x = path.glob"),
        ("f(NULL, NULL, NULL, NULL, NULL, ", "f(NULL, "),
        ('v = "1.0.1.0.ws/1.0.1.0.ws/1.0.1.0.ws/', 'v = "1.0.1.0.ws/'),
        ("items.append(items.append(items.append(", "items.append("),
        # Code, not loops: too few copies, too short, or a unit without two letters or digits.
        ("f(NULL, NULL, NULL)", None),
        ("return x x x x x x x x x x x x x x x x", None),  # the unit is ` x`, not ` x x`
        ("x = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]", None),
        ("# ==============================", None),
        ("self.assertEqual(a.b.c, b.c)", None),
        ("", None),
    ],
)
def test_loop_start(line: str, kept: str | None) -> None:
    cut = loop_start(line)
    assert (None if cut is None else line[:cut]) == kept


@pytest.mark.parametrize(
    "unit,generated,expected",
    [
        (Unit.LINE, "files = root.glob" + ".glob" * 30, "files = root.glob"),
        (Unit.BLOCK, "a = 1\n    b = f(NULL" + ", NULL" * 20, "a = 1\n    b = f(NULL"),
    ],
)
def test_a_line_stops_at_a_loop_and_keeps_what_came_before(unit: Unit, generated: str, expected: str) -> None:
    stopper = Stopper(unit, base_indent="    ", max_lines=8)
    fed = 0
    for ch in generated:
        fed += 1
        if stopper.feed(ch):
            break
    assert fed < len(generated)  # stopped early, not at the token limit
    assert stopper.finish().rstrip(", ") == expected
    assert stopper.reason == "repetition_loop"


@pytest.mark.parametrize(
    "line",
    [
        "select(0, NULL, NULL, NULL, NULL)",
        "func f() (float64, float64, float64, float64) {",
        "row = [None, None, None, None, None, None]",
        "static const uint8_t pad[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00};",
    ],
)
def test_code_that_repeats_a_few_times_is_not_stopped_while_written_or_when_ended(line: str) -> None:
    assert any(loop_start(line[:end]) is not None for end in range(len(line)))  # 3 copies would cut it
    stopper = Stopper(Unit.LINE)
    for ch in line:
        assert not stopper.feed(ch), stopper.text
    assert stopper.finish(ran_out=False) == line  # the model ended the line: its repeats are code
    assert stopper.reason == ""


def test_a_loop_is_cut_when_generation_ended_first() -> None:
    stopper = Stopper(Unit.LINE)
    stopper.text = "files = root.glob" + ".glob" * 8  # as an engine chunk that ended at the token limit
    assert stopper.finish() == "files = root.glob"
    assert stopper.reason == "repetition_loop"


@pytest.mark.parametrize(
    "generated,expected,reason",
    [
        # The first line lacks the cursor's indentation: a toy model's `return x` twice is shown.
        ("A,\n  A,\n  A,\n  B", "A,\n  A,", "repetition_loop"),
        ("x = 1\n  y = 2\n  y = 2\n", "x = 1\n  y = 2", "repetition_loop"),
        ("if a:\n    }\n  }", "if a:\n    }\n  }", ""),  # the same text at another depth is code
    ],
)
def test_a_block_stops_at_a_repeated_line(generated: str, expected: str, reason: str) -> None:
    stopper = Stopper(Unit.BLOCK, base_indent="  ", max_lines=8)
    assert feed_all(stopper, generated) == expected
    assert stopper.reason == reason
    if reason:  # the clean-up cuts the same loop when the engine's chunk held it whole
        assert clean(generated, Unit.BLOCK, "", "  ").text == expected


@pytest.mark.parametrize(
    "text,closers",
    [
        ('url = "http://x/1.0.ws/', '"'),
        ("p = `${root}.glob", "`"),
        ("f(a, 'b", "')"),
        ("f(a.glob", ")"),
        ("a)", None),
    ],
)
def test_closers_for_a_line_cut_in_a_string(text: str, closers: str | None) -> None:
    assert closers_for(text, close_quote=True) == closers
