"""The shared engine's queue: newest wins per client and document, round-robin between clients (pure).

A client that types fast replaces its own pending request for a document; it never makes another
client's requests wait longer than one turn per client.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Slot(Generic[T]):
    client: int
    key: str
    item: T


class FairQueue(Generic[T]):
    def __init__(self) -> None:
        # Client -> its pending requests by document, oldest first.
        self._pending: dict[int, OrderedDict[str, T]] = {}
        # Client -> when it was last served; the client served longest ago (or never) goes next.
        self._served: dict[int, int] = {}
        self._turns = 0

    def put(self, client: int, key: str, item: T) -> T | None:
        """Queue `item`; return the request it replaces (the same client's pending one for `key`)."""
        pending = self._pending.setdefault(client, OrderedDict())
        replaced = pending.pop(key, None)
        pending[key] = item
        return replaced

    def pop(self) -> Slot[T] | None:
        """The next request: the oldest one of the client whose turn it is."""
        waiting = [client for client, pending in self._pending.items() if pending]
        if not waiting:
            return None
        client = min(waiting, key=lambda c: self._served.get(c, -1))
        key, item = self._pending[client].popitem(last=False)
        self._turns += 1
        self._served[client] = self._turns
        return Slot(client, key, item)

    def remove(self, client: int, key: str, item: T) -> bool:
        """Take `item` out of the queue; False when it is not pending (running, done or replaced)."""
        pending = self._pending.get(client)
        if pending is None or pending.get(key) is not item:
            return False
        del pending[key]
        return True

    def drop_client(self, client: int) -> list[T]:
        """Forget a client that went away; return its pending requests."""
        self._served.pop(client, None)
        pending = self._pending.pop(client, None)
        return list(pending.values()) if pending is not None else []

    def __len__(self) -> int:
        return sum(len(pending) for pending in self._pending.values())
