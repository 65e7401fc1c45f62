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

from codellama_ls.documents.uris import uri_path

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
CHUNK_LINES = 20
MAX_LINE = 1000
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
    reason: str = ""
    """Why it was chosen (`complete --show-prompt`): shared names, or what the workspace index resolved."""


def identifiers(text: str) -> frozenset[str]:
    return frozenset(_IDENTIFIER.findall(text))


def _chunks(doc: OtherDocument, size: int = CHUNK_LINES) -> list[tuple[int, str]]:
    # A longer line (minified code) is no readable context: blanked, so a chunk stays small.
    lines = [line if len(line) <= MAX_LINE else "" for line in doc.text.split("\n")]
    step = max(size // 2, 1)  # half-overlapping windows, so a definition is rarely split badly
    out = []
    for first in range(0, max(len(lines) - step, 1), step):
        text = "\n".join(lines[first : first + size]).strip("\n")
        if text.strip():
            out.append((first, text))
    return out


# The chunks of each document with their identifiers, by URI, while its text is the same object:
# a request then costs a set intersection per chunk, not a scan of every other document.
# Only the engine worker thread (or the CLI) plans, so a plain dict will do.
_indexed: dict[str, tuple[str, list[tuple[int, str, frozenset[str]]]]] = {}


def _index_of(doc: OtherDocument) -> list[tuple[int, str, frozenset[str]]]:
    known = _indexed.get(doc.uri)
    if known is not None and known[0] is doc.text:
        return known[1]
    chunks = [(first, text, identifiers(text)) for first, text in _chunks(doc)]
    if len(_indexed) >= 2 * MAX_DOCUMENTS:
        _indexed.clear()  # closed documents go too
    _indexed[doc.uri] = (doc.text, chunks)
    return chunks


def _label(uri: str) -> str:
    path = uri_path(uri)
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
    return render(select_chunks(others, around_cursor, budget, count, max_chunks), comment)


def render(chunks: Sequence[Chunk], comment: str | None) -> str:
    marker = comment or "#"
    return "".join(f"{marker} {_label(c.uri)}\n{c.text}\n\n" for c in chunks)


def still_open(chunks: Sequence[Chunk], others: Sequence[OtherDocument], retrieved: Sequence[Chunk] = ()) -> bool:
    """Every chunk is still, word for word, in the open document it came from, or among the
    definitions the workspace index retrieved for this request."""
    texts = {doc.uri: doc.text for doc in others}
    definitions = {(c.uri, c.text) for c in retrieved}
    return all((chunk.uri, chunk.text) in definitions or chunk.text in texts.get(chunk.uri, "") for chunk in chunks)


def _overlap(a: Chunk, b: Chunk) -> bool:
    if a.uri != b.uri:
        return False
    a_end = a.first_line + a.text.count("\n")
    b_end = b.first_line + b.text.count("\n")
    return a.first_line <= b_end and b.first_line <= a_end


def select_chunks(
    others: Sequence[OtherDocument],
    around_cursor: str,
    budget: int,
    count: Callable[[str], int],
    max_chunks: int = 4,
    retrieved: Sequence[Chunk] = (),
) -> tuple[Chunk, ...]:
    """The chunks to show, from the open documents and the definitions `retrieved` from the
    workspace (scored by how much the cursor needs them, 0.3-1.0), ranked together."""
    if budget <= 0 or max_chunks <= 0 or not (others or retrieved):
        return ()
    wanted = identifiers(around_cursor)
    scored: list[Chunk] = list(retrieved)
    for doc in others[:MAX_DOCUMENTS] if wanted else ():
        for first, text, names in _index_of(doc):
            shared = wanted & names
            if shared:
                reason = "shares " + ", ".join(sorted(shared)[:4])
                scored.append(Chunk(doc.uri, first, text, len(shared) / (len(wanted) + 1), reason))
    scored.sort(key=lambda c: (-c.score, c.uri, c.first_line))
    chosen: list[Chunk] = []
    used = 0
    for chunk in scored:
        if len(chosen) >= max_chunks:
            break
        if any(_overlap(c, chunk) for c in chosen):
            continue  # overlaps a chunk already chosen
        cost = count(chunk.text) + 8
        if used + cost > budget:
            continue
        chosen.append(chunk)
        used += cost
    chosen.sort(key=lambda c: (c.uri, c.first_line))
    return tuple(chosen)
