"""A hostile or sloppy client, as raw bytes on the real server's stdin: every request with an
id gets exactly one response, bad frames are dropped and the stream resynchronises."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.lsp_support import SCRIPTED_SERVER, server_env, tcp_server
from tests.support.raw_lsp import RawServer, frame, notification, request

URI = "file:///home/user/p.py"
INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR = -32602, -32600, -32700


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    raw = await RawServer.start(SCRIPTED_SERVER, server_env(SCRIPTED_OUTPUT="ok"))
    try:
        await raw.initialize()
        await raw.wait_ready()
        await raw.send(
            frame(
                notification(
                    "textDocument/didOpen",
                    {"textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": "x = \n"}},
                )
            )
        )
        yield raw
    finally:
        await raw.stop()


def inline_params(line: Any = 0, character: Any = 4, trigger: Any = 1) -> dict[str, Any]:
    return {
        "textDocument": {"uri": URI},
        "position": {"line": line, "character": character},
        "context": {"triggerKind": trigger},
    }


def without(params: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != key}


INVALID = {
    "negative line": (inline_params(line=-1), "Position.line"),
    "negative character": (inline_params(character=-5), "Position.character"),
    "line 2**31": (inline_params(line=2**31), "Position.line"),
    "character 2**31": (inline_params(character=2**31), "Position.character"),
    "triggerKind 99": (inline_params(trigger=99), "triggerKind"),
    "no context": (without(inline_params(), "context"), "context"),
    "no position": (without(inline_params(), "position"), "position"),
    "params null": (None, "params"),
    "position a string": ({**inline_params(), "position": "here"}, "position"),
}


async def test_requests_with_invalid_params_get_invalid_params(server: RawServer) -> None:
    for number, (name, (params, field)) in enumerate(INVALID.items()):
        reply = await server.call(number, "textDocument/inlineCompletion", params)
        assert reply["error"]["code"] == INVALID_PARAMS, name
        assert field in reply["error"]["message"], (name, reply)
    # The same for the completion fallback, and the server still answers the valid form.
    reply = await server.call("c", "textDocument/completion", {**inline_params(line=-1), "context": None})
    assert reply["error"]["code"] == INVALID_PARAMS
    assert [
        i["insertText"]
        for i in (await server.call("ok", "textDocument/inlineCompletion", inline_params()))["result"]["items"]
    ] == ["ok"]


async def test_numbers_and_nesting_beyond_limits_get_an_error(server: RawServer) -> None:
    head = b'{"jsonrpc":"2.0","id":%d,"method":"textDocument/inlineCompletion","params":'
    tail = b',"context":{"triggerKind":1}}}'
    position = b'{"textDocument":{"uri":"' + URI.encode() + b'"},"position":{"line":%s,"character":0}'
    bodies = {
        1: head % 1 + position % b"1e999" + tail,
        2: head % 2 + position % (b"9" * 5000) + tail,
        3: head % 3 + position % b"NaN" + tail,
        4: head % 4 + b"[" * 100_000 + b"]" * 100_000 + b"}",
    }
    for msg_id, body in bodies.items():
        await server.send(frame(body=body))
        reply = await server.response()
        assert reply["id"] == msg_id
        assert reply["error"]["code"] == (PARSE_ERROR if msg_id == 4 else INVALID_PARAMS), reply
    assert (await server.call("alive", "codellama/status"))["result"]["state"] == "ready"


async def test_unreadable_bodies(server: RawServer) -> None:
    await server.send(frame(body=b'{"jsonrpc": "2.0", "id": 5, "method": "codellama/sta'))  # cut short
    reply = await server.response()
    assert reply["id"] == 5 and reply["error"]["code"] == PARSE_ERROR
    await server.send(frame(body=b"\xff\xfe not json"))
    reply = await server.response()
    assert reply["id"] is None and reply["error"]["code"] == PARSE_ERROR
    await server.send(frame([request(6, "codellama/status")]))
    reply = await server.response()
    assert reply["id"] is None and reply["error"]["code"] == INVALID_REQUEST
    await server.send(frame({"jsonrpc": "1.0", "id": 7, "method": "codellama/status"}))
    reply = await server.response()
    assert reply["id"] == 7 and reply["error"]["code"] == INVALID_REQUEST
    await server.send(frame({"jsonrpc": "2.0", "id": 8, "method": "textDocument/didClose", "params": {}}))
    reply = await server.response()
    assert reply["id"] == 8 and reply["error"]["code"] == INVALID_REQUEST
    assert (await server.call(9, "codellama/status"))["result"]["documents"] == 1


async def test_notifications_with_bad_params_are_logged_not_answered(server: RawServer) -> None:
    bad = [
        notification("textDocument/didChange", {"textDocument": {"uri": URI, "version": 2}}),
        notification(
            "textDocument/didChange",
            {
                "textDocument": {"uri": URI, "version": 2},
                "contentChanges": [
                    {"range": {"start": {"line": -1, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "!"}
                ],
            },
        ),
        notification("textDocument/didOpen", None),
        notification("$/cancelRequest", {"id": {"no": "id"}}),
    ]
    for message in bad:
        await server.send(frame(message))
    # The very next message is the answer to this request: nothing was answered in between.
    reply = await server.call("after", "codellama/status")
    assert reply["result"]["documents"] == 1
    assert "textDocument/didChange has invalid params" in server.log()


async def test_request_after_shutdown_is_invalid_request(server: RawServer) -> None:
    assert (await server.call("down", "shutdown"))["result"] is None
    reply = await server.call("late", "codellama/status")
    assert reply["error"]["code"] == INVALID_REQUEST and "shutdown" in reply["error"]["message"]
    reply = await server.call("late2", "textDocument/inlineCompletion", inline_params())
    assert reply["error"]["code"] == INVALID_REQUEST
    await server.send(frame(notification("exit")))
    assert await asyncio.wait_for(server.process.wait(), 20) == 0


# -- framing --------------------------------------------------------------------

STATUS = json.dumps(request("s", "codellama/status")).encode()


@pytest.mark.parametrize(
    "header",
    [
        b"content-length: %d\r\n\r\n",
        b"CONTENT-LENGTH:%d\r\n\r\n",
        b"Content-Length: %d\n\n",
        b"Content-Length:  %d \r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n",
        b"Content-Type: application/vscode-jsonrpc\nContent-Length: %d\n\r\n",
        b"\r\nContent-Length: %d\r\n\r\n",
    ],
)
async def test_sloppy_headers_are_read(server: RawServer, header: bytes) -> None:
    await server.send(frame(body=STATUS, header=header))
    assert (await server.response())["result"]["state"] == "ready"


async def test_bad_frames_are_dropped_and_the_stream_resynchronises(server: RawServer) -> None:
    ok = frame(request("ok", "codellama/status"))
    cases = {
        "length a few bytes short": frame(body=STATUS, header=b"Content-Length: %d\r\n\r\n" % (len(STATUS) - 3)),
        "length a few bytes long": frame(body=STATUS, header=b"Content-Length: %d\r\n\r\n" % (len(STATUS) + 4)),
        "no header at all": STATUS,
        "header without length": frame(body=STATUS, header=b"Content-Type: x\r\n\r\n"),
        "length not a number": frame(body=STATUS, header=b"Content-Length: twelve\r\n\r\n"),
        "length 10**12": frame(body=STATUS, header=b"Content-Length: 1000000000000\r\n\r\n"),
        "length 10**30": frame(body=STATUS, header=b"Content-Length: %d\r\n\r\n" % 10**30),
        "garbage line": b"hello there\r\n",
        "a long line without an end": b"x" * 300_000,
    }
    for name, data in cases.items():
        await server.send(data + ok)
        replies = [await server.response()]
        while replies[-1].get("id") != "ok":
            replies.append(await server.response(timeout=10))
        # At most one answer for the broken frame (an error, or a status when it could still be read).
        assert len(replies) <= 2, (name, replies)
        assert replies[-1]["result"]["state"] == "ready", name
    assert "dropped" in server.log()
    assert "1000000000000" in server.log()


async def test_the_oversized_request_is_answered_when_its_id_can_be_read(server: RawServer) -> None:
    await server.send(b"Content-Length: 1000000000000\r\n\r\n" + STATUS + frame(request("next", "codellama/status")))
    first = await server.response()
    assert first["id"] == "s" and first["error"]["code"] == INVALID_REQUEST
    assert (await server.response())["id"] == "next"


async def test_tcp_uses_the_same_reader() -> None:
    async with tcp_server() as (reader, writer):
        init = json.dumps(request(1, "initialize", {"capabilities": {}, "processId": None})).encode()
        bad = json.dumps(request(2, "textDocument/inlineCompletion", inline_params(line=-1))).encode()
        writer.write(b"garbage\r\n" + frame(body=init, header=b"content-length:%d\n\n") + frame(body=bad))
        await writer.drain()
        received = b""
        while b'"id": 2' not in received:
            received += await asyncio.wait_for(reader.read(65536), 30)
        assert b'"inlineCompletionProvider"' in received
        assert b"-32602" in received
