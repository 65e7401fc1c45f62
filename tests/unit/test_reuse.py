"""Type-through, in-flight reuse and the adaptive debounce (pure)."""

from __future__ import annotations

from codellama_ls.completion.reuse import Anchor, Flight, Shown, TypingRate

TEXT = "def f(x):\n    return \n"
CURSOR = TEXT.index("return ") + 7


def typed(text: str, at: int, insert: str) -> str:
    return text[:at] + insert + text[at:]


def test_type_through_returns_the_rest() -> None:
    shown = Shown(Anchor.of(TEXT, CURSOR), "x + 1")
    assert shown.rest_after(typed(TEXT, CURSOR, "x "), CURSOR + 2) == "+ 1"
    assert shown.rest_after(typed(TEXT, CURSOR, "y"), CURSOR + 1) is None  # not what was shown
    assert shown.rest_after(typed(TEXT, CURSOR, "x + 1"), CURSOR + 5) is None  # all typed: nothing left
    assert shown.rest_after(TEXT, CURSOR) is None  # nothing typed
    edited_above = "# note\n" + typed(TEXT, CURSOR, "x")
    assert shown.rest_after(edited_above, CURSOR + 8) is None  # the text before changed
    edited_below = typed(TEXT, CURSOR, "x") + "more\n"
    assert shown.rest_after(edited_below, CURSOR + 1) is None  # the text after changed


def test_flight_continues_only_along_what_it_produced() -> None:
    flight = Flight(Anchor.of(TEXT, CURSOR), produced="x + ")
    assert flight.continues(typed(TEXT, CURSOR, "x +"), CURSOR + 3) == "x +"
    assert flight.continues(typed(TEXT, CURSOR, "x -"), CURSOR + 3) is None
    assert flight.continues(TEXT, CURSOR) == ""


def test_adaptive_debounce() -> None:
    rate = TypingRate()
    assert rate.debounce_ms(0.0) == 0.0  # no history yet
    for i in range(6):
        rate.keystroke(i * 0.08)  # 80 ms apart: typing fast
    assert 30 <= rate.debounce_ms(0.42) <= 50
    assert rate.debounce_ms(2.0) == 0.0  # paused: answer at once
    slow = TypingRate()
    for i in range(6):
        slow.keystroke(i * 0.6)
    assert slow.debounce_ms(3.05) == 0.0
