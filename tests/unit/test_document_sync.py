"""Random edit scripts through the server's protocol layer (JSON in, lsprotocol parsing, our
handlers), compared after every change with a client-side copy kept by LSP's rules: lines
end at \\n, \\r\\n and \\r only, and a character past a line's end means the line end."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest

from codellama_ls.engine.scripted import ScriptedEngine
from codellama_ls.lsp.framing import decode_body
from codellama_ls.lsp.protocol import LspProtocol
from codellama_ls.lsp.server import CodeLlamaServer, create_server
from codellama_ls.models.presets import Progress
from codellama_ls.settings.config import Settings

# Characters that some line splitters (str.splitlines) take for line ends and LSP does not,
# line ends, astral-plane characters (two UTF-16 units, four UTF-8 bytes), other non-ASCII.
ALPHABET = [
    *"ab =:(",
    "\n",
    "\r\n",
    "\r",
    "\f",
    "\v",
    "\x1c",
    "\x1d",
    "\x1e",
    "\x85",
    "\u2028",
    "\u2029",
    "é",
    "日",
    "😀",
    "𝄞",
    "\t",
]
_BREAK = re.compile(r"\r\n|\r|\n")


def width(char: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(char.encode("utf-8"))
    if encoding == "utf-16":
        return 2 if ord(char) > 0xFFFF else 1
    return 1


def line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end of content) of each line."""
    spans, start = [], 0
    for brk in _BREAK.finditer(text):
        spans.append((start, brk.start()))
        start = brk.end()
    spans.append((start, len(text)))
    return spans


def reference_offset(text: str, line: int, character: int, encoding: str) -> int:
    spans = line_spans(text)
    if line >= len(spans):
        return len(text)
    at, end = spans[line]
    units = 0
    while at < end and units + width(text[at], encoding) <= character:
        units += width(text[at], encoding)
        at += 1
    return at


def random_text(rng: random.Random, most: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(most + 1)))


def random_position(rng: random.Random, text: str, encoding: str) -> dict[str, int]:
    spans = line_spans(text)
    line = rng.randrange(len(spans))
    start, end = spans[line]
    at = rng.randint(start, end)
    character = sum(width(ch, encoding) for ch in text[start:at])
    if rng.random() < 0.15:  # past the line's end: means the line end
        character = sum(width(ch, encoding) for ch in text[start:end]) + rng.randint(1, 5)
    return {"line": line, "character": character}


def random_change(rng: random.Random, text: str, encoding: str) -> tuple[dict[str, Any], str]:
    """One content change and the text after it, by the reference rules."""
    if rng.random() < 0.03:
        new = random_text(rng, 30)
        return {"text": new}, new
    a, b = random_position(rng, text, encoding), random_position(rng, text, encoding)
    start = reference_offset(text, a["line"], a["character"], encoding)
    end = reference_offset(text, b["line"], b["character"], encoding)
    if end < start:
        a, b, start, end = b, a, end, start
    inserted = random_text(rng, 1 if len(text) > 300 else 4)
    return {"range": {"start": a, "end": b}, "text": inserted}, text[:start] + inserted + text[end:]


def factory(settings: Settings, progress: Progress) -> ScriptedEngine:
    return ScriptedEngine("")


class _Sink:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def receive(server: CodeLlamaServer, message: dict[str, Any]) -> None:
    """As the stdio loop does, from the JSON text on."""
    protocol = server.protocol
    assert isinstance(protocol, LspProtocol)
    value, rest = decode_body(json.dumps(message).encode())
    assert not rest
    protocol.receive(value)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_random_changes_keep_the_servers_text_equal_to_the_clients(encoding: str) -> None:
    rng = random.Random(f"sync-{encoding}")
    server = create_server(factory)
    server.protocol.set_writer(_Sink())
    receive(
        server,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"capabilities": {"general": {"positionEncodings": [encoding]}}},
        },
    )
    assert server.session.documents.encoding.value == encoding
    documents = server.session.documents
    for doc_number in range(6):
        uri = f"file:///tmp/sync{doc_number}.py"
        text = random_text(rng, 40)
        item = {"uri": uri, "languageId": "python", "version": 0, "text": text}
        receive(server, {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": item}})
        for version in range(1, 400):
            changes = []
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                change, text = random_change(rng, text, encoding)
                changes.append(change)
            params = {"textDocument": {"uri": uri, "version": version}, "contentChanges": changes}
            receive(server, {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": params})
            assert documents.get(uri).text == text, (version, changes)
            assert documents.get(uri).version == version
        receive(server, {"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {"textDocument": {"uri": uri}}})
        assert uri not in documents


@pytest.mark.parametrize(
    ("text", "encoding", "line", "character", "want"),
    [
        ("x = 1\nabc", "utf-16", 1, 10, 9),
        ("p\fq = 12345\n", "utf-16", 0, 9, 9),
        ("a\u2028b\x85c\r\nd", "utf-16", 0, 5, 5),
        ("a\u2028b\x85c\r\nd", "utf-16", 1, 1, 8),
        ("😀x\ry", "utf-16", 0, 3, 2),
        ("😀x\ry", "utf-8", 0, 4, 1),
        ("😀x\ry", "utf-32", 1, 0, 3),
        ("a\r\n", "utf-16", 5, 0, 3),
    ],
)
def test_reference_offsets(text: str, encoding: str, line: int, character: int, want: int) -> None:
    # The client-side copy must itself follow the spec, or the comparison proves nothing.
    assert reference_offset(text, line, character, encoding) == want
