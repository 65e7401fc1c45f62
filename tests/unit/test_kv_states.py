"""Per-document saved KV states: kept under their byte budget, the least recently saved dropped first."""

from __future__ import annotations

from codellama_ls.engine.kv_states import SavedStates


def test_the_oldest_state_goes_first_when_over_budget() -> None:
    states = SavedStates(budget_bytes=10)
    states.save("a", b"aaaa", [1])
    states.save("b", b"bbbb", [2])
    states.save("a", b"AAAA", [3])  # saved again: now the newest
    states.save("c", b"cccc", [4])
    assert len(states) == 2 and states.take("b") is None
    assert states.take("a") == (b"AAAA", [3])
    assert states.take("a") is None  # restored: the cache holds it now


def test_a_state_larger_than_the_budget_or_no_budget_is_not_kept() -> None:
    assert not SavedStates(budget_bytes=4).fits(5)
    assert SavedStates(budget_bytes=4).fits(4)
    assert not SavedStates(budget_bytes=0).fits(1)
