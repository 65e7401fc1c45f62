"""Context from the other open documents of the same language (pure).

Chunks of recently edited documents are scored by how many identifiers they
share with the code around the cursor; the best ones that fit the budget are
placed before the prefix, as comments naming their file, in a stable order
(by file and line) so the next request's prompt starts with the same tokens
and the KV cache can keep them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
CHUNK_LINES = 20
# Documents beyond this many (most recent first) are not looked at: each costs a split and a scan.
MAX_DOCUMENTS = 8


@dataclass(frozen=True)
class OtherDocument:
    uri: str
    text: str


@dataclass(frozen=True)
class Chunk:
    uri: str
    first_line: int
    text: str
    score: float


def identifiers(text: str) -> frozenset[str]:
    return frozenset(_IDENTIFIER.findall(text))


def _chunks(doc: OtherDocument, size: int = CHUNK_LINES) -> list[tuple[int, str]]:
    lines = doc.text.split("\n")
    step = max(size // 2, 1)  # half-overlapping windows, so a definition is rarely split badly
    out = []
    for first in range(0, max(len(lines) - step, 1), step):
        text = "\n".join(lines[first : first + size]).strip("\n")
        if text.strip():
            out.append((first, text))
    return out


def _label(uri: str) -> str:
    path = unquote(urlsplit(uri).path) if "://" in uri else uri
    return path.rsplit("/", 1)[-1] if path else uri


def select(
    others: Sequence[OtherDocument],
    around_cursor: str,
    budget: int,
    count: Callable[[str], int],
    comment: str | None,
    max_chunks: int = 4,
) -> str:
    """The text to put before the prefix; empty when nothing relevant fits."""
    if budget <= 0 or max_chunks <= 0 or not others:
        return ""
    wanted = identifiers(around_cursor)
    if not wanted:
        return ""
    scored: list[Chunk] = []
    for doc in others[:MAX_DOCUMENTS]:
        for first, text in _chunks(doc):
            shared = wanted & identifiers(text)
            if shared:
                scored.append(Chunk(doc.uri, first, text, len(shared) / (len(wanted) + 1)))
    scored.sort(key=lambda c: (-c.score, c.uri, c.first_line))
    chosen: list[Chunk] = []
    used = 0
    for chunk in scored:
        if len(chosen) >= max_chunks:
            break
        if any(c.uri == chunk.uri and abs(c.first_line - chunk.first_line) < CHUNK_LINES for c in chosen):
            continue  # overlaps a chunk already chosen
        cost = count(chunk.text) + 8
        if used + cost > budget:
            continue
        chosen.append(chunk)
        used += cost
    chosen.sort(key=lambda c: (c.uri, c.first_line))
    marker = comment or "#"
    return "".join(f"{marker} {_label(c.uri)}\n{c.text}\n\n" for c in chosen)
