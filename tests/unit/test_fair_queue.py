"""The shared engine's queue: newest wins per client and document, clients take turns."""

from __future__ import annotations

from codellama_ls.engine.fair_queue import FairQueue


def drain(queue: FairQueue[str]) -> list[str]:
    order = []
    while (slot := queue.pop()) is not None:
        order.append(slot.item)
    return order


def test_a_newer_request_replaces_the_same_clients_pending_one_for_that_document() -> None:
    queue: FairQueue[str] = FairQueue()
    assert queue.put(1, "a.py", "a1") is None
    assert queue.put(1, "a.py", "a2") == "a1"
    assert queue.put(1, "b.py", "b1") is None
    # Another client's request for the same document is its own.
    assert queue.put(2, "a.py", "other") is None
    assert len(queue) == 3
    assert drain(queue) == ["a2", "other", "b1"]


def test_a_fast_typist_does_not_starve_the_others() -> None:
    queue: FairQueue[str] = FairQueue()
    for n in range(5):
        queue.put(1, f"doc{n}.py", f"fast{n}")
    queue.put(2, "x.py", "slow")
    queue.put(3, "y.py", "third")
    served = [queue.pop() for _ in range(3)]
    assert [slot.item for slot in served if slot] == ["fast0", "slow", "third"]
    # New work from the fast client waits for its turn behind what the others queued meanwhile.
    queue.put(2, "x2.py", "slow2")
    assert drain(queue) == ["fast1", "slow2", "fast2", "fast3", "fast4"]


def test_a_client_that_goes_away_leaves_nothing_behind() -> None:
    queue: FairQueue[str] = FairQueue()
    queue.put(1, "a.py", "a")
    queue.put(1, "b.py", "b")
    queue.put(2, "c.py", "c")
    assert sorted(queue.drop_client(1)) == ["a", "b"]
    assert not queue.remove(2, "c.py", "older")  # a cancel for a request already replaced
    assert queue.remove(2, "c.py", "c")
    assert not queue.remove(2, "c.py", "c")
    assert queue.pop() is None


def test_a_client_that_was_just_served_waits_for_one_that_arrives_later() -> None:
    queue: FairQueue[str] = FairQueue()
    queue.put(1, "a.py", "first")
    assert (slot := queue.pop()) is not None and slot.item == "first"
    queue.put(2, "b.py", "newcomer")
    queue.put(1, "a.py", "again")
    assert drain(queue) == ["newcomer", "again"]
