"""The completion item over stdio, shaped for Neovim's recorded capabilities (see completion_item.py)."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.support.cursor import cursor
from tests.support.lsp_support import ROOT, SCRIPTED_SERVER, open_doc, server_env, wait_ready

URI = "file:///tmp/shape.py"


async def _neovim(env: dict[str, str]) -> LanguageClient:
    client = await ClientServerConfig(server_command=SCRIPTED_SERVER, server_env=env).start()
    assert isinstance(client, LanguageClient)
    try:
        caps = client_capabilities("neovim")
    except ValueError as exc:
        pytest.skip(f"no recorded Neovim capabilities: {exc}")
    await client.initialize_session(
        types.InitializeParams(
            capabilities=caps, root_uri=ROOT.as_uri(), client_info=types.ClientInfo(name="Neovim", version="0.11.4")
        )
    )
    return client


@pytest.mark.parametrize(
    ("marked", "output", "new_text", "start"),
    [
        # The closer after the cursor is left out, and the range ends at the cursor.
        ("x = f(█)\n", "a, b)", "a, b", 6),
        # Later lines relative to the cursor line's indentation; `$` escaped.
        ("def f(a):\n    if a:\n        █\n", "s = '$'\n        return s", "s = '\\$'\nreturn s", 8),
    ],
    ids=["closer", "block"],
)
async def test_item_for_neovim(marked: str, output: str, new_text: str, start: int) -> None:
    client = await _neovim(server_env(SCRIPTED_OUTPUT=output))
    try:
        assert (await wait_ready(client))["state"] == "ready"
        text, line, character = cursor(marked)
        open_doc(client, URI, text)
        result = await client.text_document_completion_async(
            types.CompletionParams(types.TextDocumentIdentifier(URI), types.Position(line, character))
        )
        assert isinstance(result, types.CompletionList)
        (item,) = result.items
        assert item.insert_text_format == types.InsertTextFormat.Snippet
        assert item.text_edit == types.TextEdit(
            types.Range(types.Position(line, start), types.Position(line, character)), new_text
        )
    finally:
        await client.shutdown_session()
