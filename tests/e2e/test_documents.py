"""The server's copy of a document, read end to end over stdio: the scripted engine echoes the
whole prompt (SCRIPTED_ECHO=hex), so an invoked completion at (0, 0) shows the full text."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.lsp_support import SCRIPTED_SERVER, server_env
from tests.support.raw_lsp import RawServer, frame, notification
from tests.unit.test_document_sync import random_change, random_text

URI = "file:///tmp/doc.py"


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    raw = await RawServer.start(SCRIPTED_SERVER, server_env(SCRIPTED_ECHO="hex"))
    try:
        reply = await raw.initialize("utf-16")
        assert reply["result"]["capabilities"]["positionEncoding"] == "utf-16"
        await raw.wait_ready()
        yield raw
    finally:
        await raw.stop()


async def open_text(server: RawServer, text: str, uri: str = URI) -> None:
    item = {"uri": uri, "languageId": "python", "version": 1, "text": text}
    await server.send(frame(notification("textDocument/didOpen", {"textDocument": item})))


async def change(server: RawServer, version: int, *changes: dict[str, Any], uri: str = URI) -> None:
    params = {"textDocument": {"uri": uri, "version": version}, "contentChanges": list(changes)}
    await server.send(frame(notification("textDocument/didChange", params)))


def insert(line: int, character: int, text: str) -> dict[str, Any]:
    at = {"line": line, "character": character}
    return {"range": {"start": at, "end": at}, "text": text}


def delete(start: tuple[int, int], end: tuple[int, int]) -> dict[str, Any]:
    return {
        "range": {"start": {"line": start[0], "character": start[1]}, "end": {"line": end[0], "character": end[1]}},
        "text": "",
    }


async def server_text(server: RawServer, uri: str = URI) -> str:
    """The document as the server has it: the suffix of a completion at its very start."""
    params = {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}, "context": {"triggerKind": 1}}
    reply = await server.call("text", "textDocument/inlineCompletion", params)
    items = reply["result"]["items"]
    assert len(items) == 1, reply
    prefix, suffix = items[0]["insertText"].split("/")
    assert prefix == ""
    return bytes.fromhex(suffix).decode("utf-8")


@pytest.mark.parametrize(
    ("text", "edit", "want"),
    [
        # A position past the line's end means the line end (pygls put the X before the c).
        ("x = 1\nabc", insert(1, 10, "X"), "x = 1\nabcX"),
        ("x = 1\nabc", delete((1, 1), (1, 9)), "x = 1\na"),
        # A form feed is not a line end (pygls's str.splitlines() made it one).
        ("p\fq = 12345\n", insert(0, 9, "W"), "p\fq = 123W45\n"),
        ("s = '\u2028'\nt = 1\n", insert(1, 4, "2"), "s = '\u2028'\nt = 21\n"),
        ("a\x85b\vc\x1cd\re\r\nf", insert(1, 1, "!"), "a\x85b\vc\x1cd\re!\r\nf"),
        ("😀 = 1\nz", insert(0, 2, "x"), "😀x = 1\nz"),
    ],
)
async def test_edits_land_where_the_spec_says(server: RawServer, text: str, edit: dict[str, Any], want: str) -> None:
    await open_text(server, text)
    assert await server_text(server) == text
    await change(server, 2, edit)
    assert await server_text(server) == want


async def test_random_changes_end_to_end(server: RawServer) -> None:
    rng = random.Random("e2e")
    text = random_text(rng, 40)
    await open_text(server, text)
    for version in range(2, 120):
        edit, text = random_change(rng, text, "utf-16")
        await change(server, version, edit)
        if version % 4 == 0:
            assert await server_text(server) == text, version
    assert await server_text(server) == text
