"""Next edits over stdio (real server, scripted engine): rename a parameter, get the edit on its next use."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.test_protocol import type_at
from tests.support.lsp_support import SCRIPTED_SERVER, inline, open_doc, plain, server_env, start, status, wait_ready

URI = "file:///tmp/next_edit/calc.py"
OLD = "def total(prices, rate):\n    subtotal = sum(prices)\n    return subtotal * rate\n"
RENAMED = OLD.replace("(prices, rate)", "(prices, tax_rate)")
PREDICTED = RENAMED.replace("* rate", "* tax_rate")
# The scripted model rewrites the region with the rename when the history (the prompt's leading
# comment) shows it, and gives the region back unchanged otherwise.
ANSWERS = json.dumps({"+def total(prices, tax_rate):": PREDICTED, "Recent edits": OLD})


async def _next_edit(client: LanguageClient, params: Any) -> dict[str, Any]:
    return plain(await client.protocol.send_request_async("codellama/nextEdit", params))  # type: ignore[no-any-return]


def _params(version: int | None, line: int = 0, character: int = 26) -> dict[str, Any]:
    document: dict[str, Any] = {"uri": URI}
    if version is not None:
        document["version"] = version
    return {"textDocument": document, "position": {"line": line, "character": character}}


async def _rename(client: LanguageClient) -> int:
    """Type `tax_` before `rate` in the signature, one keystroke per didChange; the last version."""
    open_doc(client, URI, OLD)
    for i, ch in enumerate("tax_"):
        type_at(client, URI, 2 + i, 0, OLD.index("rate") + i, ch)
    return 5


async def test_after_renaming_a_parameter_the_next_use_is_proposed() -> None:
    client, _ = await start(SCRIPTED_SERVER, server_env(CODELLAMA_LS_NEXT_EDIT="true", SCRIPTED_FIM_ANSWERS=ANSWERS))
    try:
        await wait_ready(client)
        version = await _rename(client)
        result = await asyncio.wait_for(_next_edit(client, _params(version)), 10)
        use = RENAMED.split("\n")[2].index("rate")
        [edit] = result["edits"]
        assert edit["range"] == {"start": {"line": 2, "character": use}, "end": {"line": 2, "character": use}}
        assert edit["text"] == "tax_"
        assert edit["textDocument"] == {"uri": URI, "version": version}
        assert isinstance(edit["id"], str)

        # The cursor moves to that line: the same edit answers an inline completion, with a replace range.
        items = (await inline(client, URI, 2, 4)).items
        assert [(i.insert_text, i.range.start.character, i.range.end.character) for i in items if i.range] == [
            ("return subtotal * tax_", 4, use)
        ]

        client.protocol.notify("codellama/nextEditShown", {"id": edit["id"]})
        client.protocol.notify("codellama/nextEditRejected", {"id": edit["id"]})
        again = await _next_edit(client, _params(version))
        assert again == {"edits": []}  # rejected: not offered again for the same text

        state = (await status(client))["next_edit"]
        assert state["enabled"] is True and state["history"] == 1
        assert (state["offered"], state["shown"], state["rejected"], state["dropped"]) == (1, 1, 1, 1)
        assert state["last"]["format"] == "fim"
    finally:
        await client.shutdown_session()


async def test_nothing_for_an_old_version_bad_params_or_when_off() -> None:
    client, _ = await start(SCRIPTED_SERVER, server_env(CODELLAMA_LS_NEXT_EDIT="true", SCRIPTED_FIM_ANSWERS=ANSWERS))
    try:
        await wait_ready(client)
        version = await _rename(client)
        assert await _next_edit(client, _params(version - 1)) == {"edits": []}  # the document moved on
        assert await _next_edit(client, {"position": {"line": 0, "character": 0}}) == {"edits": []}
        assert await _next_edit(client, _params(version, line=-1)) == {"edits": []}
        assert await _next_edit(client, _params(None)) != {"edits": []}  # no version: the current one
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"codellama": {"nextEdit": False}})
        )
        assert await _next_edit(client, _params(version)) == {"edits": []}
        assert (await status(client))["state"] == "ready"  # the server stays up
    finally:
        await client.shutdown_session()
