"""End to end over stdio with `engine = llama-server`: the real language server, a real llama-server
(scripts/build-llama-server) and generated Code Llama-vocabulary GGUFs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.conftest import needs_llama
from tests.support.cursor import cursor
from tests.support.llama_server import LlamaServer, free_port, missing_reason
from tests.support.lsp_support import REAL_SERVER, inline, open_doc, plain, server_env, start, wait_ready

pytestmark = [needs_llama, pytest.mark.skipif(bool(missing_reason()), reason=missing_reason() or "present")]

URI = "file:///tmp/remote_add.py"
SOURCE = "def add(a, b):\n    █\n\nprint(add(1, 2))\n"


def remote_env(url: str, model: Path, **extra: str) -> dict[str, str]:
    settings = {
        "CODELLAMA_LS_ENGINE": "llama-server",
        "CODELLAMA_LS_ENGINE_URL": url,
        "CODELLAMA_LS_MODEL": str(model),
        "CODELLAMA_LS_N_CTX": "1024",
    }
    return server_env(**{**settings, **extra})


@pytest.fixture
def llama_server(codellama_gguf: Path) -> Iterator[LlamaServer]:
    with LlamaServer(codellama_gguf, slots=2, n_ctx=1024) as running:
        yield running


def _messages(client: Any) -> list[str]:
    return [message.message for message in client.messages]


async def test_completions_from_llama_server_survive_its_restart(
    llama_server: LlamaServer, codellama_gguf: Path
) -> None:
    client, _ = await start(REAL_SERVER, remote_env(llama_server.url, codellama_gguf))
    try:
        state = await wait_ready(client)
        assert state["state"] == "ready", state
        assert state["computed"] == f"llama-server at {llama_server.url} (2 slots)"
        text, line, character = cursor(SOURCE)
        open_doc(client, URI, text)
        # The crafted model answers "▁x" only after the exact token "▁return": the prompt arrived token-exact.
        assert [item.insert_text for item in (await inline(client, URI, line, character)).items] == ["return x"]
        stats = plain(await client.protocol.send_request_async("codellama/stats", None))
        entry = stats["requests"][-1]
        assert entry["reused_tokens"] + entry["evaluated_tokens"] == entry["prompt_tokens"] > 10

        llama_server.kill()
        assert not (await inline(client, URI, line, character)).items
        assert not (await inline(client, URI, line, character)).items
        down = [m for m in _messages(client) if "cannot be reached" in m]
        assert len(down) == 1, _messages(client)  # told once, not once per request
        assert llama_server.url in down[0]

        llama_server.start()
        assert [item.insert_text for item in (await inline(client, URI, line, character)).items] == ["return x"]
    finally:
        await client.shutdown_session()


async def test_streaming_and_cancel_reach_the_server(models_dir: Path, tmp_path: Path) -> None:
    from tests.support.gguf_models import write_codellama_gguf

    # "return x x x ...": one long line, so there is something to stream and to cancel.
    looping = write_codellama_gguf(models_dir / "looping.gguf", transitions={"▁return": "▁x", "▁x": "▁x"})
    log = tmp_path / "llama-server.log"
    with LlamaServer(looping, slots=1, n_ctx=4096, log=log) as llama_server:
        env = remote_env(llama_server.url, looping, CODELLAMA_LS_N_CTX="4096", CODELLAMA_LS_SYNTAX_CHECK="false")
        client, _ = await start(REAL_SERVER, env, init_options={"partialNotifications": True, "maxTokens": 60})
        partials: list[str] = []

        @client.feature("codellama/partialCompletion")
        def on_partial(params):  # type: ignore[no-untyped-def]  # unannotated: pygls reads `object` as "the client"
            partials.append(plain(params)["text"])

        try:
            assert (await wait_ready(client))["state"] == "ready"
            text, line, character = cursor(SOURCE)
            open_doc(client, URI, text)
            items = (await inline(client, URI, line, character)).items
            assert items and items[0].insert_text.startswith("return x x")
            await asyncio.sleep(0.2)
            assert partials and all(items[0].insert_text.startswith(p.lstrip()) for p in partials)

            # A long generation, then an edit: newest wins, and the server stops generating at once.
            client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"maxTokens": 4000}))
            request = asyncio.ensure_future(inline(client, URI, line, character))
            deadline = time.monotonic() + 10
            while not _processing(llama_server) and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert _processing(llama_server)
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
                    content_changes=[
                        types.TextDocumentContentChangePartial(
                            range=types.Range(types.Position(line, character), types.Position(line, character)),
                            text="#",
                        )
                    ],
                )
            )
            assert not (await request).items
            stopped = time.monotonic()
            while _processing(llama_server) and time.monotonic() - stopped < 5:
                await asyncio.sleep(0.02)
            assert not _processing(llama_server)
            # The server's own log: the closed connection cancelled the task long before its 4000 tokens.
            released = [line for line in log.read_text().splitlines() if "stop processing: n_tokens" in line]
            assert "cancel task" in log.read_text()
            assert int(released[-1].rsplit("n_tokens = ", 1)[1].split(",")[0]) < 4000, released[-1]
        finally:
            await client.shutdown_session()


def _processing(server: LlamaServer) -> bool:
    slots = server.get("/slots")
    return any(slot.get("is_processing") for slot in slots)  # type: ignore[union-attr]


async def test_a_wrong_url_and_a_wrong_key_fail_clearly_and_the_editor_keeps_working(
    codellama_gguf: Path,
) -> None:
    port = free_port()
    nowhere = f"http://127.0.0.1:{port}"
    client, _ = await start(REAL_SERVER, remote_env(nowhere, codellama_gguf))
    try:
        # The vocabulary is here, so the server starts; the unreachable llama-server is asked again per request.
        state = await wait_ready(client)
        assert state["state"] == "ready", state
        assert state["computed"] == f"llama-server at {nowhere} (not reached yet)"
        text, line, character = cursor(SOURCE)
        open_doc(client, URI, text)
        assert not (await inline(client, URI, line, character)).items
        assert not (await inline(client, URI, line, character)).items
        assert sum(f"llama-server at {nowhere} cannot be reached" in m for m in _messages(client)) == 1
        # Started after the editor (a laptop's llama-server service, a team server back up): it just works.
        late = LlamaServer(codellama_gguf, n_ctx=1024)
        late.port = port
        with late:
            assert [item.insert_text for item in (await inline(client, URI, line, character)).items] == ["return x"]
            assert (await wait_ready(client))["computed"] == f"llama-server at {nowhere} (1 slot)"
    finally:
        await client.shutdown_session()

    # Without the model file the vocabulary must come from the server: loading fails, clearly.
    client, _ = await start(REAL_SERVER, remote_env(nowhere, Path("/nonexistent/model.gguf")))
    try:
        state = await wait_ready(client)
        assert state["state"] == "failed"
        assert f"llama-server at {nowhere} cannot be reached" in state["error"]
        open_doc(client, URI, text)
        assert not (await inline(client, URI, line, character)).items
    finally:
        await client.shutdown_session()

    with LlamaServer(codellama_gguf, api_key="right-key", n_ctx=512) as guarded:
        env = remote_env(guarded.url, codellama_gguf, CODELLAMA_LS_ENGINE_API_KEY_ENV="TEAM_KEY", TEAM_KEY="wrong-key")
        client, _ = await start(REAL_SERVER, env)
        try:
            state = await wait_ready(client)
            assert state["state"] == "failed"
            assert "refused the API key (HTTP 401); check the environment variable TEAM_KEY" in state["error"]
            assert "wrong-key" not in str(state)
            open_doc(client, URI, text)
            assert not (await inline(client, URI, line, character)).items
        finally:
            await client.shutdown_session()
