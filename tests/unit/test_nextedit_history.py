"""The edit history: changed lines, coalescing, bounds, unified-diff hunks."""

from __future__ import annotations

import pytest

from codellama_ls.nextedit.history import (
    COALESCE_S,
    EditHistory,
    EditKind,
    Hunk,
    LineChange,
    _lines_between,
    classify,
    hunks_between,
    line_change,
)

FILE = "def total(prices, rate):\n    subtotal = sum(prices)\n    return subtotal * rate\n"

LINE_CHANGES: list[tuple[str, str, str, LineChange | None]] = [
    ("equal", "a\nb\n", "a\nb\n", None),
    ("a character typed", "a\nb\n", "a\nbc\n", LineChange(1, ("b",), ("bc",))),
    ("a line inserted", "a\nb\n", "a\nx\nb\n", LineChange(1, (), ("x",))),
    ("a line deleted", "a\nx\nb\n", "a\nb\n", LineChange(1, ("x",), ())),
    ("a line split", "ab\n", "a\nb\n", LineChange(0, ("ab",), ("a", "b"))),
    ("lines joined", "a\nb\n", "ab\n", LineChange(0, ("a", "b"), ("ab",))),
    ("the last line without newline", "a\nb", "a\nbc", LineChange(1, ("b",), ("bc",))),
    ("into an empty file", "", "x = 1\n", LineChange(0, (), ("x = 1",))),
    (
        "a rename",
        FILE,
        FILE.replace("(prices, rate)", "(prices, tax_rate)"),
        LineChange(0, ("def total(prices, rate):",), ("def total(prices, tax_rate):",)),
    ),
    ("two lines apart", "a\nb\nc\n", "A\nb\nC\n", LineChange(0, ("a", "b", "c"), ("A", "b", "C"))),
    ("CRLF kept in the line", "a\r\nb\r\n", "a\r\nbb\r\n", LineChange(1, ("b\r",), ("bb\r",))),
]


@pytest.mark.parametrize(
    ("before", "after", "expected"), [c[1:] for c in LINE_CHANGES], ids=[c[0] for c in LINE_CHANGES]
)
def test_line_change(before: str, after: str, expected: LineChange | None) -> None:
    change = line_change(before, after)
    if change is None or expected is None:
        assert change is expected
        return
    assert (change.start, change.old, change.new) == (expected.start, expected.old, expected.new)
    assert change.offset == sum(len(line) + 1 for line in before.split("\n")[: change.start])


@pytest.mark.parametrize(
    ("text", "lo", "hi", "expected"),
    [
        ("a\nb\nc\n", 0, 9, ["a", "b", "c"]),
        ("a\nb\nc", 1, 9, ["b", "c"]),
        ("a\nb\nc\n", -3, 1, ["a"]),
        ("a\nb\nc\n", 2, 2, []),
        ("", 0, 3, [""]),
        ("\n", 0, 3, [""]),
        ("a\n\nb\n", 0, 9, ["a", "", "b"]),
    ],
)
def test_lines_between_walks_from_any_line(text: str, lo: int, hi: int, expected: list[str]) -> None:
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    for line, offset in enumerate(starts):
        if offset == len(text) and text and line:
            continue  # no line starts after the final newline
        assert _lines_between(text, line, offset, lo, hi) == expected, (line, offset)


def _type(history: EditHistory, text: str, at: int, typed: str, clock: float = 0.0, step: float = 0.1) -> str:
    for i, ch in enumerate(typed):
        new = text[: at + i] + ch + text[at + i :]
        history.record("file:///w/a.py", "a.py", text, new, clock + i * step, EditKind.TYPED)
        text = new
    return text


def test_typing_a_word_is_one_hunk_with_context() -> None:
    history = EditHistory()
    text = _type(history, FILE, FILE.index("rate"), "tax_")
    assert text == FILE.replace("(prices, rate)", "(prices, tax_rate)")
    [hunk] = history.hunks()
    assert hunk.unified() == (
        "@@ -1,3 +1,3 @@\n"
        "-def total(prices, rate):\n"
        "+def total(prices, tax_rate):\n"
        "     subtotal = sum(prices)\n"
        "     return subtotal * rate\n"
    )
    assert hunk.before_text() == FILE.rstrip("\n")
    assert hunk.after_text() == text.rstrip("\n")


def test_deleting_and_retyping_a_name_is_one_hunk() -> None:
    history = EditHistory()
    text, at = FILE, FILE.index("rate")
    for i in range(4):  # backspace "rate" from its end
        new = text[: at + 3 - i] + text[at + 4 - i :]
        history.record("file:///w/a.py", "a.py", text, new, i * 0.1, EditKind.TYPED)
        text = new
    text = _type(history, text, at, "tax_rate", clock=0.5)
    [hunk] = history.hunks()
    assert (hunk.old, hunk.new) == (("def total(prices, rate):",), ("def total(prices, tax_rate):",))


def test_typing_then_deleting_leaves_no_hunk() -> None:
    history = EditHistory()
    text = _type(history, FILE, 3, "xy")
    for i in range(2):
        new = text[: 4 - i] + text[5 - i :]
        history.record("file:///w/a.py", "a.py", text, new, 1 + i * 0.1, EditKind.TYPED)
        text = new
    assert text == FILE
    assert history.hunks() == []


@pytest.mark.parametrize(
    ("second_at", "second_clock", "hunks"),
    [
        ("subtotal = sum", 0.5, 2),  # another line, not touching the first edit's lines
        ("rate):", COALESCE_S + 1, 2),  # the same line after a pause
        ("rate):", 0.5, 1),  # the same line, soon: one hunk
    ],
)
def test_coalescing_needs_the_same_lines_soon(second_at: str, second_clock: float, hunks: int) -> None:
    history = EditHistory()
    text = _type(history, FILE, FILE.index("prices"), "all_")
    _type(history, text, text.index(second_at), "z", clock=second_clock)
    assert len(history.hunks()) == hunks


def test_a_paste_and_an_accepted_edit_are_hunks_of_their_own() -> None:
    history = EditHistory()
    text = _type(history, FILE, 0, "#")
    pasted = text + "x = 1\ny = 2\nz = 3\n"
    history.record("file:///w/a.py", "a.py", text, pasted, 0.2, classify("x = 1\ny = 2\nz = 3\n"))
    accepted = pasted.replace("rate\n", "tax_rate\n")
    history.record("file:///w/a.py", "a.py", pasted, accepted, 0.3, EditKind.ACCEPTED)
    assert [h.kind for h in history.hunks()] == [EditKind.TYPED, EditKind.PASTED, EditKind.ACCEPTED]


@pytest.mark.parametrize(
    ("inserted", "kind"),
    [
        ("a", EditKind.TYPED),
        ("()", EditKind.TYPED),
        ("\n    ", EditKind.TYPED),
        ("a\nb\nc", EditKind.PASTED),
        ("x" * 41, EditKind.PASTED),
    ],
)
def test_classify(inserted: str, kind: EditKind) -> None:
    assert classify(inserted) is kind


def test_bounded_by_count_and_size_oldest_first_out() -> None:
    history = EditHistory(max_hunks=3, max_chars=10_000)
    text = "\n".join(f"line{i}" for i in range(40)) + "\n"
    for i in range(5):
        new = text.replace(f"line{i * 8}\n", f"LINE{i * 8}\n")
        history.record("file:///w/a.py", "a.py", text, new, i * 10.0, EditKind.TYPED)
        text = new
    assert [h.new for h in history.hunks()] == [("LINE16",), ("LINE24",), ("LINE32",)]
    history.max_chars = 100
    history.record("file:///w/b.py", "b.py", "a\n", "b\n", 100.0, EditKind.TYPED)
    assert sum(h.size for h in history.hunks()) <= 100
    assert history.hunks()[-1].path == "b.py"


def test_files_keep_their_order_and_names() -> None:
    history = EditHistory()
    history.record("file:///w/a.py", "a.py", "a\n", "A\n", 0.0, EditKind.TYPED)
    history.record("file:///w/b.py", "pkg/b.py", "b\n", "B\n", 0.1, EditKind.TYPED)
    history.record("file:///w/a.py", "a.py", "A\nx\n", "A\nX\n", 5.0, EditKind.TYPED)
    assert [h.path for h in history.hunks()] == ["a.py", "pkg/b.py", "a.py"]
    assert [h.path for h in history.hunks("file:///w/a.py")] == ["a.py", "a.py"]


def test_a_huge_change_is_not_kept() -> None:
    history = EditHistory()
    assert history.record("file:///w/a.py", "a.py", "", "x\n" * 5000, 0.0, EditKind.PASTED) is None
    assert history.hunks() == []


HUNKS: list[tuple[str, str, list[tuple[int, tuple[str, ...], tuple[str, ...]]]]] = [
    ("a\nb\nc\n", "a\nB\nc\n", [(1, ("b",), ("B",))]),
    ("a\nb\nc\nd\ne\nf\ng\nh\n", "A\nb\nc\nd\ne\nf\ng\nH\n", [(0, ("a",), ("A",)), (7, ("h",), ("H",))]),
    ("a\n", "a\nb\n", [(1, (), ("b",))]),
]


@pytest.mark.parametrize(("before", "after", "expected"), HUNKS)
def test_hunks_between_two_versions(
    before: str, after: str, expected: list[tuple[int, tuple[str, ...], tuple[str, ...]]]
) -> None:
    hunks = hunks_between("x.py", before, after, context=1)
    assert [(h.start, h.old, h.new) for h in hunks] == expected


def test_unified_header_of_an_insertion_and_a_deletion() -> None:
    assert Hunk("a.py", 2, (), ("x",)).unified() == "@@ -2,0 +3,1 @@\n+x\n"
    assert Hunk("a.py", 2, ("x",), ()).unified() == "@@ -3,1 +2,0 @@\n-x\n"


def test_a_new_line_typed_after_enter_is_one_hunk() -> None:
    history = EditHistory()
    text = "a = 1\nb = 2\n"
    text = _type(history, text, len("a = 1"), "\nc = 3")
    assert text == "a = 1\nc = 3\nb = 2\n"
    [hunk] = history.hunks()
    assert (hunk.start, hunk.old, hunk.new) == (1, (), ("c = 3",))


def test_a_rename_in_a_long_file_has_the_same_hunk() -> None:
    history = EditHistory()
    head = "".join(f"x{i} = {i}\n" for i in range(50_000))
    text = _type(history, head + FILE + head, len(head) + FILE.index("rate"), "tax_")
    [hunk] = history.hunks()
    assert (hunk.start, hunk.old, hunk.new) == (
        50_000,
        ("def total(prices, rate):",),
        ("def total(prices, tax_rate):",),
    )
    assert hunk.above == ("x49997 = 49997", "x49998 = 49998", "x49999 = 49999")
    assert hunk.below == ("    subtotal = sum(prices)", "    return subtotal * rate", "x0 = 0")
    assert "tax_rate" in text
