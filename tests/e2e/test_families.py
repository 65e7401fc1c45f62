"""FIM families end to end over stdio: a Qwen2.5-Coder look-alike's stop token never reaches the
editor, and a chat-only model says once what to use for completions instead."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.cursor import cursor
from tests.support.gguf_families import stored, write_family_gguf
from tests.support.gguf_models import CHATML_TEMPLATE, write_codellama_gguf
from tests.support.lsp_support import REAL_SERVER, inline, open_doc, server_env, start, status, wait_ready

URI = "file:///tmp/add.py"
SOURCE = "def add(a, b):\n    █\n\nprint(add(1, 2))\n"


async def test_a_qwen_coder_gguf_completes_and_stops_at_file_sep(models_dir: Path) -> None:
    key = "qwen2.5-coder"
    transitions = {stored(key, " return"): stored(key, " x"), stored(key, " x"): "<|file_sep|>"}
    transitions["<|file_sep|>"] = stored(key, " y")
    model = write_family_gguf(
        models_dir / "qwen-file-sep.gguf", key, transitions=transitions, default_next=stored(key, " return")
    )
    client, _ = await start(REAL_SERVER, server_env(CODELLAMA_LS_MODEL=str(model)))
    try:
        state = await wait_ready(client)
        assert state["fim"] is True and state["fim_family"] == "Qwen2.5-Coder"
        text, line, character = cursor(SOURCE)
        open_doc(client, URI, text)
        assert [i.insert_text for i in (await inline(client, URI, line, character)).items] == ["return x"]
        recent = (await status(client))["recent"][-1]
        assert recent["stop_reason"] == "eot" and recent["mode"] == "line"
    finally:
        await client.shutdown_session()


async def test_a_chat_model_completes_from_the_prefix_and_says_so_once(models_dir: Path) -> None:
    chat = write_codellama_gguf(
        models_dir / "chat-only.gguf", fim=False, name="Chatty Instruct", chat_template=CHATML_TEMPLATE
    )
    client, _ = await start(REAL_SERVER, server_env(CODELLAMA_LS_MODEL=str(chat)))
    try:
        state = await wait_ready(client)
        assert state["state"] == "ready" and state["fim"] is False
        text, line, character = cursor(SOURCE)
        open_doc(client, URI, text)
        for _ in range(2):
            await inline(client, URI, line, character)
        assert (await status(client))["recent"][-1]["mode"] == "none"
        await asyncio.sleep(0.2)
        told = [m.message for m in client.messages if "chat model without fill-in-the-middle" in m.message]
        assert len(told) == 1
        assert "qwen2.5-coder-1.5b" in told[0] and "instruct_model" in told[0]
    finally:
        await client.shutdown_session()
