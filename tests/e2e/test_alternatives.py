"""Alternatives to cycle through: an explicit inline request gets several items, an automatic one
gets one (real server over stdio, scripted engine)."""

from __future__ import annotations

import json

from lsprotocol import types

from tests.support.lsp_support import SCRIPTED_SERVER, inline, open_doc, server_env, start, wait_ready

URI = "file:///tmp/alternatives.py"
TEXTS = ["total = a + b", "total = a - b", "total = a + b", "total = sum(a, b)", "total = b"]


async def test_an_explicit_request_gets_distinct_alternatives_an_automatic_one_gets_one() -> None:
    client, _ = await start(SCRIPTED_SERVER, server_env(SCRIPTED_ALTERNATIVES=json.dumps(TEXTS)))
    try:
        await wait_ready(client)
        open_doc(client, URI, "def f(a, b):\n    \n")
        invoked = await inline(client, URI, 1, 4)
        # The default `alternatives` is 3: distinct texts, in the order of the model's likelihood; no
        # spare is asked for, so the one that came out the same as the first leaves two.
        assert [item.insert_text for item in invoked.items] == TEXTS[:2]
        assert all(item.range == invoked.items[0].range for item in invoked.items)
        automatic = await inline(client, URI, 1, 4, invoked=False)
        assert [item.insert_text for item in automatic.items] == TEXTS[:1]
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"alternatives": 5}))
        more = await inline(client, URI, 1, 4)
        assert [item.insert_text for item in more.items] == [TEXTS[0], TEXTS[1], TEXTS[3], TEXTS[4]]
    finally:
        await client.shutdown_session()
