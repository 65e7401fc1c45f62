"""End to end over stdio: settings from the client that mean "none" are taken silently."""

from __future__ import annotations

import asyncio

from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.support.lsp_support import SCRIPTED_SERVER, server_env, start, status, wait_ready


async def _said(client: LanguageClient) -> list[str]:
    await status(client)  # a round trip: what the server said before answering has arrived
    await asyncio.sleep(0.1)
    return [message.message for message in client.messages]


async def test_empty_array_and_null_settings_are_no_settings() -> None:
    # Neovim sends `init_options = {}` and `settings = {}` as `[]`.
    client, _ = await start(SCRIPTED_SERVER, server_env(), init_options=[])
    try:
        assert (await wait_ready(client))["state"] == "ready"
        for settings in ([], None, {"codellama": []}, {"codellama": None}):
            client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))
        assert await _said(client) == []
        # The same channel still reports settings it cannot use.
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=["maxLines", 2]))
        said = await _said(client)
        assert said == ["codellama-ls: workspace/didChangeConfiguration: expected an object of settings, got list"]
    finally:
        await client.shutdown_session()
