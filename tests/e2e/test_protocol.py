"""End to end over stdio with a scripted engine: capabilities, positions, cancellation, superseding."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types

from tests.support.cursor import cursor, split_cursor
from tests.support.lsp_support import (
    SCRIPTED_SERVER,
    inline,
    open_doc,
    plain,
    server_env,
    start,
    status,
    tcp_server,
    wait_ready,
)

URI = "file:///tmp/example.py"


async def test_initialize_advertises_inline_completion_fallback_and_incremental_sync() -> None:
    client, result = await start(SCRIPTED_SERVER, server_env())
    try:
        caps = result.capabilities
        assert caps.inline_completion_provider is not None
        assert caps.completion_provider is not None
        sync = caps.text_document_sync
        assert isinstance(sync, types.TextDocumentSyncOptions)
        assert sync.change == types.TextDocumentSyncKind.Incremental and sync.open_close
        assert caps.position_encoding == types.PositionEncodingKind.Utf16
        assert (await wait_ready(client))["state"] == "ready"
    finally:
        await client.shutdown_session()


POSITION_CASES = [
    "x = 1\ny = █\n",
    "s = '😀😀'; t = █ # end\n",
    "名前 = '日本語'█\nnext\n",
    "\tif a:\n\t\tb = █\n",
    "a = 1\r\nb = █\r\nc = 3\r\n",
    "é = 'é'█",
    "😀█😀\n",
]


def echo_of(marked: str) -> str:
    """What the scripted engine answers when the server cut the text exactly at the marker."""
    text, index = split_cursor(marked)
    prefix, suffix = text[:index], text[index:]
    return f"<{prefix[-6:]}|{suffix[:6]}>".replace("\n", "⏎").replace("\r", "␍")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
async def test_suggestion_lands_exactly_at_the_cursor(encoding: str) -> None:
    client, result = await start(SCRIPTED_SERVER, server_env(), encodings=[encoding])
    try:
        assert result.capabilities.position_encoding == encoding
        await wait_ready(client)
        for number, marked in enumerate(POSITION_CASES):
            text, line, character = cursor(marked, encoding=encoding)
            uri = f"file:///tmp/pos{number}.py"
            open_doc(client, uri, text)
            items = (await inline(client, uri, line, character)).items
            assert len(items) == 1, marked
            echoed = items[0].insert_text
            assert isinstance(echoed, str)
            assert echoed == echo_of(marked), marked
            position = types.Position(line, character)
            assert items[0].range == types.Range(position, position)
    finally:
        await client.shutdown_session()


async def test_completion_fallback_uses_text_edit_from_word_start() -> None:
    client, _ = await start(SCRIPTED_SERVER, server_env(SCRIPTED_OUTPUT="urn total"))
    try:
        await wait_ready(client)
        text, line, character = cursor("def f(total):\n    ret█\n")
        open_doc(client, URI, text)
        result = await client.text_document_completion_async(
            types.CompletionParams(types.TextDocumentIdentifier(URI), types.Position(line, character))
        )
        assert isinstance(result, types.CompletionList) and result.is_incomplete
        (item,) = result.items
        # VS Code's capabilities: a snippet (Neovim inserts plain textEdits only in part), kept as is.
        assert item.insert_text_format == types.InsertTextFormat.Snippet
        assert item.insert_text_mode == types.InsertTextMode.AsIs
        assert isinstance(item.text_edit, types.TextEdit)
        assert item.text_edit.new_text == "return total"
        assert item.text_edit.range == types.Range(types.Position(1, 4), types.Position(1, 7))
    finally:
        await client.shutdown_session()


async def test_incremental_changes_are_applied() -> None:
    client, _ = await start(SCRIPTED_SERVER, server_env())
    try:
        await wait_ready(client)
        open_doc(client, URI, "a = 1\n")
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(types.Position(1, 0), types.Position(1, 0)), text="b = 😀"
                    ),
                    types.TextDocumentContentChangePartial(
                        range=types.Range(types.Position(1, 4), types.Position(1, 6)), text="2"
                    ),
                ],
            )
        )
        items = (await inline(client, URI, 1, 5)).items
        assert items[0].insert_text == "<\nb = 2|>".replace("\n", "⏎")
    finally:
        await client.shutdown_session()


async def test_cancel_request_stops_generation_and_is_answered() -> None:
    # 10 s of output at 0.1 s a piece: only cancellation can end it quickly.
    client, _ = await start(SCRIPTED_SERVER, server_env(SCRIPTED_OUTPUT="x" * 100, SCRIPTED_DELAY="0.1"))
    try:
        await wait_ready(client)
        open_doc(client, URI, "value = \n")
        params = types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            text_document=types.TextDocumentIdentifier(uri=URI),
            position=types.Position(0, 8),
        )
        future = asyncio.ensure_future(
            client.protocol.send_request_async(types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id="slow-1")
        )
        await asyncio.sleep(0.3)
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="slow-1"))
        started = asyncio.get_running_loop().time()
        with pytest.raises(Exception, match="cancel"):
            await asyncio.wait_for(future, 5)
        assert asyncio.get_running_loop().time() - started < 2
        # The worker is free again: a new request is served.
        recent = (await status(client))["recent"]
        for _ in range(50):
            if recent and recent[-1]["stop_reason"] == "cancelled":
                break
            await asyncio.sleep(0.05)
            recent = (await status(client))["recent"]
        assert recent[-1]["stop_reason"] == "cancelled"
        assert recent[-1]["generated_tokens"] < 30
    finally:
        await client.shutdown_session()


def type_at(client, uri: str, version: int, line: int, character: int, text: str) -> None:  # type: ignore[no-untyped-def]
    position = types.Position(line, character)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangePartial(range=types.Range(position, position), text=text)],
        )
    )


async def test_newer_request_supersedes_older_and_every_request_is_answered() -> None:
    client, _ = await start(SCRIPTED_SERVER, server_env(SCRIPTED_OUTPUT="abc", SCRIPTED_DELAY="0.2"))
    try:
        await wait_ready(client)
        open_doc(client, URI, "value = \n")
        first = asyncio.ensure_future(inline(client, URI, 0, 8))
        await asyncio.sleep(0.25)
        type_at(client, URI, 2, 0, 8, "z")  # not what the model is writing: the old request is cancelled
        second = asyncio.ensure_future(inline(client, URI, 0, 9))
        old, new = await asyncio.wait_for(asyncio.gather(first, second), 10)
        assert not old.items
        assert [item.insert_text for item in new.items] == ["abc"]
        stats = plain(await client.protocol.send_request_async("codellama/stats", None))
        assert [r.get("stop_reason") for r in stats["requests"]][:1] == ["cancelled"]
    finally:
        await client.shutdown_session()


async def test_typing_along_with_a_generation_reuses_it() -> None:
    client, _ = await start(SCRIPTED_SERVER, server_env(SCRIPTED_OUTPUT="abcdef", SCRIPTED_DELAY="0.1"))
    try:
        await wait_ready(client)
        open_doc(client, URI, "value = \n")
        first = asyncio.ensure_future(inline(client, URI, 0, 8))
        await asyncio.sleep(0.35)  # "abc" produced so far
        type_at(client, URI, 2, 0, 8, "ab")  # the user types what the model is writing
        # Typing asks automatically (an explicit request wants alternatives: the model runs again).
        second = await asyncio.wait_for(inline(client, URI, 0, 10, invoked=False), 10)
        assert [item.insert_text for item in second.items] == ["cdef"]
        assert not (await first).items  # its text no longer fits the document
        # Typing the beginning of what is on screen: answered from the cache, no model work.
        type_at(client, URI, 3, 0, 10, "cd")
        third = await asyncio.wait_for(inline(client, URI, 0, 12, invoked=False), 10)
        assert [item.insert_text for item in third.items] == ["ef"]
        stats = plain(await client.protocol.send_request_async("codellama/stats", None))
        assert stats["cache_hits"] == {"in_flight": 1, "type_through": 1}
        assert len([r for r in stats["requests"] if "cache" not in r]) == 1  # the model ran once
    finally:
        await client.shutdown_session()


async def test_status_request_without_params_is_answered() -> None:
    client, _ = await start(SCRIPTED_SERVER, server_env())
    try:
        # vscode-jsonrpc omits `params` when there are none.
        client.protocol._send_data({"jsonrpc": "2.0", "id": "bare", "method": "codellama/status"})  # type: ignore[arg-type]
        for _ in range(100):
            await asyncio.sleep(0.05)
            if "bare" not in client.protocol._request_futures:
                break
        assert (await wait_ready(client))["state"] == "ready"
    finally:
        await client.shutdown_session()


async def test_bad_input_answers_empty_and_server_stays_up() -> None:
    client, _ = await start(SCRIPTED_SERVER, server_env(SCRIPTED_OUTPUT="ok"), init_options={"maxTokens": "many"})
    try:
        await wait_ready(client)
        assert not (await inline(client, "file:///never/opened.py", 0, 0)).items
        open_doc(client, URI, "a\n")
        assert not (await inline(client, URI, 5, 0)).items  # line out of range
        assert not (await inline(client, URI, 0, 99)).items  # beyond the line's end
        open_doc(client, "file:///tmp/blob.bin", "\x00\x01binary", language="plaintext")
        assert not (await inline(client, "file:///tmp/blob.bin", 0, 1)).items
        assert [i.insert_text for i in (await inline(client, URI, 0, 1)).items] == ["ok"]
        messages = " | ".join(m.message for m in client.messages)
        assert "maxTokens must be an integer" in messages
        assert "not open" in messages
    finally:
        await client.shutdown_session()


async def test_configuration_change_applies() -> None:
    client, _ = await start(SCRIPTED_SERVER, server_env(SCRIPTED_OUTPUT="line one\n    line two"))
    try:
        await wait_ready(client)
        open_doc(client, URI, "def f():\n    \n")
        assert [i.insert_text for i in (await inline(client, URI, 1, 4)).items] == ["line one\n    line two"]
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"codellama": {"maxLines": 1}})
        )
        assert [i.insert_text for i in (await inline(client, URI, 1, 4)).items] == ["line one"]
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"enabled": False}))
        assert not (await inline(client, URI, 1, 4)).items
    finally:
        await client.shutdown_session()


async def test_growing_suggestion_streams_as_progress_and_notifications() -> None:
    env = server_env(SCRIPTED_OUTPUT="abcdefgh", SCRIPTED_DELAY="0.06")
    client, _ = await start(SCRIPTED_SERVER, env, init_options={"partialNotifications": True})
    partials: list[str] = []

    @client.feature("codellama/partialCompletion")
    def on_partial(params):  # type: ignore[no-untyped-def]  # unannotated: pygls reads `object` as "the client"
        partials.append(plain(params)["text"])

    try:
        await wait_ready(client)
        open_doc(client, URI, "value = \n")
        client.progress_reports["stream-1"] = []  # a token the client made itself, as the spec allows
        result = await client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
                text_document=types.TextDocumentIdentifier(uri=URI),
                position=types.Position(0, 8),
                work_done_token="stream-1",
            )
        )
        assert [item.insert_text for item in result.items] == ["abcdefgh"]
        await asyncio.sleep(0.2)
        assert partials and all("abcdefgh".startswith(p) for p in partials)
        reports = client.progress_reports.get("stream-1", [])
        assert reports and reports[0].kind == "begin" and reports[-1].kind == "end"
        messages = [r.message for r in reports if r.kind == "report"]
        assert messages and all("abcdefgh".startswith(m) for m in messages)
    finally:
        await client.shutdown_session()


async def test_tcp_transport() -> None:
    async with tcp_server() as (reader, writer):
        body = b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}, "processId": null}}'
        writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        reply = await asyncio.wait_for(reader.read(65536), 30)
        assert b'"inlineCompletionProvider"' in reply
