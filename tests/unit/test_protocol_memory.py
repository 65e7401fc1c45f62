"""What the protocol layer keeps per message: nothing, once the message is handled.

pygls files the future of every async or generator handler and forgets only those of
requests, so each didChange (through its built-in generator handler) stayed forever.
The soak benchmark (benchmarks/soak_bench.py) measures the process; this checks the cause."""

from __future__ import annotations

import asyncio
from typing import Any

from codellama_ls.lsp.protocol import LspProtocol
from codellama_ls.lsp.server import create_server
from tests.unit.test_document_sync import _Sink, factory, receive

URI = "file:///tmp/memory.py"


def change(version: int, uri: str = URI) -> dict[str, Any]:
    at = {"line": 0, "character": 1}
    edit = {"range": {"start": at, "end": at}, "text": "x"}
    return {
        "jsonrpc": "2.0",
        "method": "textDocument/didChange",
        "params": {"textDocument": {"uri": uri, "version": version}, "contentChanges": [edit]},
    }


async def test_handled_messages_leave_no_futures_behind() -> None:
    server = create_server(factory)
    protocol = server.protocol
    assert isinstance(protocol, LspProtocol)
    protocol.set_writer(_Sink())
    protocol._loop = asyncio.get_running_loop()
    receive(server, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}})
    receive(server, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
    item = {"uri": URI, "languageId": "python", "version": 1, "text": "a = 1\n"}
    receive(server, {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": item}})
    for version in range(2, 2002):
        receive(server, change(version))
        if version % 100 == 0:  # pygls's own built-in handlers (generators) too
            receive(server, {"jsonrpc": "2.0", "method": "$/setTrace", "params": {"value": "off"}})
    for number in range(200):
        params = {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 1}, "context": {"triggerKind": 1}}
        receive(
            server, {"jsonrpc": "2.0", "id": f"r{number}", "method": "textDocument/inlineCompletion", "params": params}
        )
    for _ in range(200):
        await asyncio.sleep(0.01)
        if not protocol._request_futures:
            break
    assert not protocol._request_futures
    assert server.session.documents.get(URI).version == 2001


def test_changes_to_unknown_documents_leave_no_state() -> None:
    server = create_server(factory)
    server.protocol.set_writer(_Sink())
    receive(server, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}})
    for number in range(500):
        receive(server, change(2, uri=f"file:///tmp/never-opened-{number}.py"))
    session = server.session
    assert not session.requests._states
