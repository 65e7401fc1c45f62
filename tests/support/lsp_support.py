"""Drive the real server over stdio with pytest-lsp's client (a client we did not write)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

ROOT = Path(__file__).resolve().parents[2]
REAL_SERVER = [sys.executable, "-m", "codellama_ls"]
SCRIPTED_SERVER = [sys.executable, "-m", "tests.support.scripted_server"]


def server_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env = {k: v for k, v in env.items() if not k.startswith("CODELLAMA_LS_")}
    env["CODELLAMA_LS_CONFIG"] = str(ROOT / "tests" / "no-such-config.toml")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    # Shared engine processes started by a test should not outlive the run by the default five minutes.
    env["CODELLAMA_LS_ENGINE_IDLE_S"] = "30"
    env.update(overrides)
    return env


@contextlib.asynccontextmanager
async def tcp_server() -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """The real server started with `--tcp` on a free local port, and a connection to it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        *REAL_SERVER,
        "--tcp",
        f"127.0.0.1:{port}",
        env=server_env(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the server did not listen on port {port}")
        try:
            yield reader, writer
        finally:
            writer.close()
    finally:
        process.kill()
        await process.wait()


def capabilities(encodings: list[str] | None = None, client: str = "visual-studio-code") -> types.ClientCapabilities:
    caps = client_capabilities(client)
    # The recorded VS Code capabilities predate LSP 3.18; current VS Code sends these.
    caps.text_document.inline_completion = types.InlineCompletionClientCapabilities(dynamic_registration=False)
    if encodings is not None:
        caps.general = caps.general or types.GeneralClientCapabilities()
        caps.general.position_encodings = encodings
    return caps


async def start(
    command: list[str],
    env: dict[str, str],
    *,
    encodings: list[str] | None = None,
    init_options: Any = None,
    root: Path = ROOT,
) -> tuple[LanguageClient, types.InitializeResult]:
    """The server started and initialized with `root` as its workspace folder (this checkout unless told)."""
    client = await ClientServerConfig(server_command=command, server_env=env).start()
    assert isinstance(client, LanguageClient)
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(encodings),
            root_uri=root.as_uri(),
            initialization_options=init_options,
        )
    )
    return client, result


def plain(value: Any) -> Any:
    """pygls hands back unknown results as namedtuples; tests want dicts and lists."""
    if hasattr(value, "_asdict"):
        return {key: plain(item) for key, item in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


async def status(client: LanguageClient) -> dict[str, Any]:
    return plain(await client.protocol.send_request_async("codellama/status", None))  # type: ignore[no-any-return]


async def wait_ready(client: LanguageClient, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        state = await status(client)
        if state["state"] in ("ready", "failed") or time.monotonic() > deadline:
            return state
        await asyncio.sleep(0.05)


def open_doc(client: LanguageClient, uri: str, text: str, language: str = "python", version: int = 1) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id=language, version=version, text=text)
        )
    )


async def inline(
    client: LanguageClient, uri: str, line: int, character: int, invoked: bool = True
) -> types.InlineCompletionList:
    kind = types.InlineCompletionTriggerKind.Invoked if invoked else types.InlineCompletionTriggerKind.Automatic
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=kind),
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
        )
    )
    assert isinstance(result, types.InlineCompletionList)
    return result
