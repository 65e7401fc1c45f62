"""The workspace index end to end over stdio: a definition in a file that is not open reaches the
prompt, and follows the file when it changes on disk, is deleted, or comes with a new workspace folder.
The scripted engine echoes the prompt (SCRIPTED_ECHO=hex), so a completion shows what the model saw."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.support.lsp_support import SCRIPTED_SERVER, capabilities, inline, open_doc, server_env, status, wait_ready

MAIN = "from .config import parse_config\n\n\ndef run(path):\n    settings = parse_config("


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[LanguageClient, Path]]:
    one = tmp_path / "one"
    (one / "pkg").mkdir(parents=True)
    (one / "pkg" / "__init__.py").write_text("")
    (one / "pkg" / "config.py").write_text("def parse_config(path, strict=False):\n    return {}\n")
    (one / "pkg" / "main.py").write_text(MAIN)
    client = await ClientServerConfig(
        server_command=SCRIPTED_SERVER, server_env=server_env(SCRIPTED_ECHO="hex")
    ).start()
    assert isinstance(client, LanguageClient)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(),
            workspace_folders=[types.WorkspaceFolder(uri=one.as_uri(), name="one")],
        )
    )
    assert (await wait_ready(client))["state"] == "ready"
    try:
        yield client, tmp_path
    finally:
        await client.shutdown_session()


async def _prompt(client: LanguageClient, uri: str, text: str) -> str:
    lines = text.split("\n")
    result = await inline(client, uri, len(lines) - 1, len(lines[-1]))
    assert len(result.items) == 1
    insert = result.items[0].insert_text
    assert isinstance(insert, str)
    return bytes.fromhex(insert.split("/")[0]).decode()


async def _until(check: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():  # type: ignore[misc]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_the_index_follows_files_on_disk_and_workspace_folders(client: tuple[LanguageClient, Path]) -> None:
    lsp, root = client
    main = (root / "one" / "pkg" / "main.py").as_uri()
    open_doc(lsp, main, MAIN)

    async def shows(text: str) -> bool:
        return text in await _prompt(lsp, main, MAIN)

    await _until(lambda: shows("def parse_config(path, strict=False):"))
    state = await status(lsp)
    assert state["repository"]["files"] >= 3 and state["repository"]["folders"] == [str(root / "one")]

    # Changed on disk (a `git checkout`): the watched-files notification brings the new signature.
    config = root / "one" / "pkg" / "config.py"
    config.write_text("def parse_config(path, encoding='utf-8'):\n    return {}\n")
    lsp.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams([types.FileEvent(config.as_uri(), types.FileChangeType.Changed)])
    )
    await _until(lambda: shows("def parse_config(path, encoding='utf-8'):"))

    # Deleted: gone from the prompt.
    config.unlink()
    lsp.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams([types.FileEvent(config.as_uri(), types.FileChangeType.Deleted)])
    )

    async def gone() -> bool:
        return "def parse_config" not in await _prompt(lsp, main, MAIN)

    await _until(gone)

    # A new workspace folder: its definitions are found too.
    two = root / "two"
    two.mkdir()
    (two / "loud.py").write_text("def shout(text, volume=11):\n    return text.upper()\n")
    lsp.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            types.WorkspaceFoldersChangeEvent(added=[types.WorkspaceFolder(two.as_uri(), "two")], removed=[])
        )
    )
    calling = MAIN + "path)\n    return shout("

    async def shouts() -> bool:
        return "def shout(text, volume=11):" in await _prompt(lsp, main, calling)

    lsp.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=main, version=2),
            [types.TextDocumentContentChangeWholeDocument(text=calling)],
        )
    )
    await _until(shouts)


async def test_a_saved_open_document_feeds_another_documents_prompt(client: tuple[LanguageClient, Path]) -> None:
    lsp, root = client
    helper = (root / "one" / "pkg" / "helper.py").as_uri()
    main = (root / "one" / "pkg" / "main.py").as_uri()
    text = "from .helper import tidy\n\n\ndef run(rows):\n    return tidy("
    open_doc(lsp, main, text)
    open_doc(lsp, helper, "def tidy(rows, *, keep_empty=False):\n    return rows\n")

    async def shows() -> bool:
        return "def tidy(rows, *, keep_empty=False):" in await _prompt(lsp, main, text)

    await _until(shows)


async def test_a_call_to_a_parameter_keeps_its_namesake_out_of_the_prompt(client: tuple[LanguageClient, Path]) -> None:
    lsp, root = client
    main = (root / "one" / "pkg" / "main.py").as_uri()
    # `parse_config` is the function's own parameter here: the workspace's function is not what it calls.
    local = "def run(path, parse_config):\n    settings = parse_config("
    open_doc(lsp, main, MAIN)
    await _until(lambda: _shows(lsp, main, MAIN, "def parse_config(path, strict=False):"))
    lsp.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=main, version=2),
            [types.TextDocumentContentChangeWholeDocument(text=local)],
        )
    )
    assert "def parse_config(path, strict=False):" not in await _prompt(lsp, main, local)


async def _shows(lsp: LanguageClient, uri: str, text: str, wanted: str) -> bool:
    return wanted in await _prompt(lsp, uri, text)


def _workspace(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "config.py").write_text("def parse_config(path, strict=False):\n    return {}\n")
    (root / "pkg" / "main.py").write_text(MAIN + "\n")
    return root / "pkg" / "main.py"


def test_the_index_command_prints_what_the_index_holds(tmp_path: Path) -> None:
    _workspace(tmp_path)
    run = [sys.executable, "-m", "codellama_ls", "index", str(tmp_path)]
    out = subprocess.run([*run, "--json"], capture_output=True, text=True, env=server_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert shown["files"] == 3 and shown["definitions"] == 2 and shown["languages"] == {"python": 3}
    assert shown["seconds"] >= 0 and not shown["capped"]
    listing = subprocess.run([*run, "--files"], capture_output=True, text=True, env=server_env(), timeout=60)
    assert "config.py: parse_config (function)" in listing.stdout and "indexed in" in listing.stdout


def test_show_prompt_lists_the_context_with_its_reasons(codellama_gguf: Path, tmp_path: Path) -> None:
    main = _workspace(tmp_path)
    run = [sys.executable, "-m", "codellama_ls", "complete", f"{main}:5:29", "--model", str(codellama_gguf)]
    out = subprocess.run([*run, "--show-prompt"], capture_output=True, text=True, env=server_env(), timeout=120)
    assert out.returncode == 0, out.stderr
    assert "# context: 1 chunk(s) before the prefix" in out.stdout
    assert "config.py:1 (score 1.00): the call being written: imported parse_config" in out.stdout
    assert "def parse_config(path, strict=False):" in out.stdout
    off = subprocess.run(
        [*run, "--show-prompt"],
        capture_output=True,
        text=True,
        env=server_env(CODELLAMA_LS_REPOSITORY_CONTEXT="false"),
        timeout=120,
    )
    assert "# context: 0 chunk(s)" in off.stdout and "def parse_config" not in off.stdout
